"""The imports' mutations, one module each, composed into the domain's Mutation mixin."""

from __future__ import annotations

import strawberry

from app.graphql.imports.mutations.import_behavioural_events import ImportBehaviouralEventsMutation
from app.graphql.imports.mutations.import_customer_promotion import ImportCustomerPromotionMutation
from app.graphql.imports.mutations.import_interactions import ImportInteractionsMutation
from app.graphql.imports.mutations.import_leads import ImportLeadsMutation
from app.graphql.imports.mutations.import_opening_balances import ImportOpeningBalancesMutation
from app.graphql.imports.mutations.import_points import ImportPointsMutation
from app.graphql.imports.mutations.import_points_debits import ImportPointsDebitsMutation
from app.graphql.imports.mutations.import_segment_members import ImportSegmentMembersMutation
from app.graphql.imports.mutations.import_tracker_values import ImportTrackerValuesMutation
from app.graphql.imports.mutations.save_import_template import SaveImportTemplateMutation


@strawberry.type
class ImportMutation(
    ImportPointsMutation,
    ImportCustomerPromotionMutation,
    ImportTrackerValuesMutation,
    SaveImportTemplateMutation,
    ImportLeadsMutation,
    ImportSegmentMembersMutation,
    ImportInteractionsMutation,
    ImportBehaviouralEventsMutation,
    ImportOpeningBalancesMutation,
    ImportPointsDebitsMutation,
):
    pass
