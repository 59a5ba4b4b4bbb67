"""The cards' mutations, one module each, composed into the domain's Mutation mixin."""

from __future__ import annotations

import strawberry

from app.graphql.cards.mutations.issue_card import IssueCardMutation
from app.graphql.cards.mutations.set_card_status import SetCardStatusMutation


@strawberry.type
class CardMutation(IssueCardMutation, SetCardStatusMutation):
    pass
