"""Enumerations shared across domains, with the seeds' values (stored as their names)."""

from __future__ import annotations

from enum import StrEnum


class IdentifierType(StrEnum):
    MOBILE = "MOBILE"
    EMAIL = "EMAIL"
    EXTERNAL_ID = "EXTERNAL_ID"
    CARD_NUMBER = "CARD_NUMBER"


class PointsCategory(StrEnum):
    REGULAR = "REGULAR"
    PROMISED = "PROMISED"
    TRIGGER_BASED = "TRIGGER_BASED"


class TransactionSource(StrEnum):
    INSTORE = "INSTORE"
    WECHAT = "WECHAT"
    MARTJACK = "MARTJACK"
    WEB_ENGAGE = "WEB_ENGAGE"
    ECOMMERCE = "ECOMMERCE"
    JD = "JD"
    TAOBAO = "TAOBAO"
    TMALL = "TMALL"
    FACEBOOK = "FACEBOOK"
    WEBSITE = "WEBSITE"
    OTHERS = "OTHERS"
