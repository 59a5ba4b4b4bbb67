"""The segments' mutations, one module each, composed into the domain's Mutation mixin."""

from __future__ import annotations

import strawberry

from app.graphql.segments.mutations.add_segment_members import AddSegmentMembersMutation
from app.graphql.segments.mutations.create_segment import CreateSegmentMutation
from app.graphql.segments.mutations.remove_segment_members import RemoveSegmentMembersMutation


@strawberry.type
class SegmentMutation(CreateSegmentMutation, AddSegmentMembersMutation, RemoveSegmentMembersMutation):
    pass
