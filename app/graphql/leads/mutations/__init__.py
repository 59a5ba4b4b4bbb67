"""The leads' mutations, one module each, composed into the domain's Mutation mixin."""

from __future__ import annotations

import strawberry

from app.graphql.leads.mutations.add_lead_follow_up import AddLeadFollowUpMutation
from app.graphql.leads.mutations.create_lead import CreateLeadMutation
from app.graphql.leads.mutations.update_lead_status import UpdateLeadStatusMutation


@strawberry.type
class LeadMutation(CreateLeadMutation, UpdateLeadStatusMutation, AddLeadFollowUpMutation):
    pass
