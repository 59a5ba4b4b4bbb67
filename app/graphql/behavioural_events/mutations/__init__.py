"""The behavioural events' mutations, one module each, composed into the domain's Mutation mixin."""

from __future__ import annotations

import strawberry

from app.graphql.behavioural_events.mutations.record_behavioural_events import RecordBehaviouralEventsMutation


@strawberry.type
class BehaviouralEventMutation(RecordBehaviouralEventsMutation):
    pass
