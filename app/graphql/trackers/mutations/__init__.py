"""The trackers' mutations, one module each, composed into the domain's Mutation mixin."""

from __future__ import annotations

import strawberry

from app.graphql.trackers.mutations.add_tracker_value import AddTrackerValueMutation
from app.graphql.trackers.mutations.define_tracker import DefineTrackerMutation


@strawberry.type
class TrackerMutation(DefineTrackerMutation, AddTrackerValueMutation):
    pass
