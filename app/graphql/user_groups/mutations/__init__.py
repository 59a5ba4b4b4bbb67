"""The user groups' mutations, one module each, composed into the domain's Mutation mixin."""

from __future__ import annotations

import strawberry

from app.graphql.user_groups.mutations.add_user_group_members import AddUserGroupMembersMutation
from app.graphql.user_groups.mutations.create_user_group import CreateUserGroupMutation
from app.graphql.user_groups.mutations.remove_user_group_members import RemoveUserGroupMembersMutation


@strawberry.type
class UserGroupMutation(CreateUserGroupMutation, AddUserGroupMembersMutation, RemoveUserGroupMembersMutation):
    pass
