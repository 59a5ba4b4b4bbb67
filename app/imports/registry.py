"""The import profiles this server knows, by name."""

from __future__ import annotations

from typing import Any

from app.imports.models import ImportProfile
from app.imports.points import PointsProfile
from app.imports.profiles import Profile

PROFILES: dict[ImportProfile, Profile[Any]] = {
    ImportProfile.TALON_ONE_POINTS: PointsProfile(),
}
