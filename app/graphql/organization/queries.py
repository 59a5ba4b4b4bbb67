"""The organisation query: the setup of the API key's organisation."""

from __future__ import annotations

import strawberry

from app.graphql.core.context import Info
from app.graphql.organization.types import Organization


@strawberry.type
class OrganizationQuery:
    @strawberry.field(description="The organisation of the API key making the request.")
    def organization(self, info: Info) -> Organization:
        return Organization.from_config(info.context.org)
