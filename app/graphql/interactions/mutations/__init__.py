"""The interactions' mutations, one module each, composed into the domain's Mutation mixin."""

from __future__ import annotations

import strawberry

from app.graphql.interactions.mutations.record_interactions import RecordInteractionsMutation


@strawberry.type
class InteractionMutation(RecordInteractionsMutation):
    pass
