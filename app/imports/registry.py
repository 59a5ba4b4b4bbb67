"""The import profiles this server knows, by name."""

from __future__ import annotations

from typing import Any

from app.imports.behavioural_events import BehaviouralEventsProfile
from app.imports.customer_promotion import CustomerPromotionProfile
from app.imports.interactions import InteractionsProfile
from app.imports.leads_segments import LeadsProfile, SegmentMembersProfile
from app.imports.ledger_history import DebitsProfile, OpeningBalancesProfile
from app.imports.models import ImportProfile
from app.imports.points import PointsProfile
from app.imports.profiles import Profile
from app.imports.trackers import TrackersProfile

PROFILES: dict[ImportProfile, Profile[Any]] = {
    ImportProfile.TALON_ONE_POINTS: PointsProfile(),
    ImportProfile.CUSTOMER_PROMOTION: CustomerPromotionProfile(),
    ImportProfile.TRACKERS: TrackersProfile(),
    ImportProfile.LEADS: LeadsProfile(),
    ImportProfile.SEGMENT_MEMBERS: SegmentMembersProfile(),
    ImportProfile.INTERACTIONS: InteractionsProfile(),
    ImportProfile.BEHAVIOURAL_EVENTS: BehaviouralEventsProfile(),
    ImportProfile.POINTS_DEBITS: DebitsProfile(),
    ImportProfile.OPENING_BALANCES: OpeningBalancesProfile(),
}
