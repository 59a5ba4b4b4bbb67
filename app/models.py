"""Every table, imported in one place so SQLModel.metadata is complete (Alembic, tests)."""

from sqlmodel import SQLModel

from app.catalog.models import Product
from app.customers.models import Customer, CustomerHistory, CustomerIdentifier, CustomerProgram
from app.ledger.models import LedgerEntry, LedgerEvent, PointAccount, PointLot
from app.organizations.models import ApiKey, Organization, Program, Store, Till, Tier
from app.transactions.models import Transaction, TransactionLineItem

metadata = SQLModel.metadata

__all__ = [
    "ApiKey", "Customer", "CustomerHistory", "CustomerIdentifier", "CustomerProgram",
    "LedgerEntry", "LedgerEvent", "Organization", "PointAccount", "PointLot", "Product",
    "Program", "Store", "Till", "Tier", "Transaction", "TransactionLineItem", "metadata",
]
