"""The context of a WebSocket connection (graphql-transport-ws): its subscriptions share it for
the connection's lifetime.

The connection is authenticated once, by its `connection_init` message (the HTTP layer sets `org`,
`roles` and `query_limits` then); Strawberry refuses a `subscribe` before that. Unlike a request's
Context there is no read snapshot: a subscription lives for hours, so each of its reads is a short
transaction of its own (`streams.database`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.types import Info as StrawberryInfo

from app.graphql.core.limits import QueryLimits
from app.organizations.config import OrgConfig
from app.organizations.roles import Role
from app.storage.database import Database
from app.subscriptions.service import Streams


@dataclass
class SubscriptionContext:
    streams: Streams
    connection_params: dict[str, Any] | None = None  # connection_init's payload (Strawberry sets it)
    org: OrgConfig | None = None  # the caller's organisation, once authenticated
    roles: frozenset[Role] = frozenset()
    query_limits: QueryLimits | None = None  # what a document of this key may ask (core/limits.py)
    operation_name: str | None = None
    error_codes: list[str] = field(default_factory=list)

    @property
    def database(self) -> Database:
        """For the fields of what a subscription yields that read (an import job's rejects)."""
        return self.streams.database

    @property
    def caller_org(self) -> OrgConfig:
        """The organisation (a subscription runs only once the connection is authenticated)."""
        assert self.org is not None
        return self.org


SubscriptionInfo = StrawberryInfo[SubscriptionContext, None]
