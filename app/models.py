"""Every table, imported in one place so SQLModel.metadata is complete (Alembic, tests)."""

from sqlmodel import SQLModel

from app.cards.models import LoyaltyCard, Subledger
from app.catalog.models import Product
from app.customer_promotions.models import CustomerPromotion
from app.customers.models import Customer, CustomerHistory, CustomerIdentifier, CustomerProgram
from app.idempotency.models import IdempotencyKey
from app.imports.models import ImportCorrection, ImportJob, ImportReject, ImportTemplate
from app.ledger.models import LedgerEntry, LedgerEvent, PointAccount, PointLot, PointLotMovement
from app.organizations.models import ApiKey, Organization, Program, Store, Till, Tier
from app.promotions.models import (
    PromoCode, PromoCodeCustomerUsage, PromoCodeLink, PromoCodeRedemption, Promotion, PromotionCustomerUsage,
)
from app.redemptions.models import PointRedemption, PointRedemptionReversal
from app.transactions.models import Transaction, TransactionLineItem
from app.trackers.models import Tracker, TrackerValue
from app.transfers.models import PointTransfer
from app.user_groups.models import UserGroup, UserGroupMember

metadata = SQLModel.metadata

__all__ = [
    "ApiKey", "Customer", "CustomerHistory", "CustomerIdentifier", "CustomerProgram", "IdempotencyKey",
    "LedgerEntry", "LedgerEvent", "Organization", "PointAccount", "PointLot", "PointLotMovement",
    "PointRedemption", "PointRedemptionReversal", "PointTransfer", "Product", "Program", "PromoCode", "PromoCodeCustomerUsage",
    "PromoCodeLink", "PromoCodeRedemption", "Promotion", "PromotionCustomerUsage", "Store", "Till", "Tier", "Transaction",
    "TransactionLineItem", "metadata", "CustomerPromotion", "Tracker", "TrackerValue", "UserGroup", "UserGroupMember",
    "ImportCorrection", "ImportJob", "ImportReject", "ImportTemplate", "LoyaltyCard", "Subledger",
]
