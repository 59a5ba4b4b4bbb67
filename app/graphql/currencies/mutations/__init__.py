"""The alternate currencies' mutations, one module each, composed into the domain's Mutation mixin."""

from __future__ import annotations

import strawberry

from app.graphql.currencies.mutations.redeem_alternate_currency import RedeemAlternateCurrencyMutation
from app.graphql.currencies.mutations.reverse_alternate_currency_redemption import (
    ReverseAlternateCurrencyRedemptionMutation,
)
from app.graphql.currencies.mutations.transfer_alternate_currency import TransferAlternateCurrencyMutation


@strawberry.type
class AlternateCurrencyMutation(
    RedeemAlternateCurrencyMutation, ReverseAlternateCurrencyRedemptionMutation, TransferAlternateCurrencyMutation
):
    pass
