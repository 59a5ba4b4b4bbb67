"""What a GraphQL request's operation must pass before Strawberry parses it: registered
(persisted) operations, and introspection by role in production.

Refusals answer HTTP 200 with a GraphQL `errors` entry (no `data`: nothing ran), the way
GraphQL answers an invalid document: PERSISTED_QUERY_NOT_FOUND (the hash names no registered
operation: Apollo's clients then resend the text, which a registered-only server refuses),
OPERATION_NOT_REGISTERED (query text that is not registered, where only registered operations
run) and FORBIDDEN (introspection by a key without an introspection role, in production).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cross_web import HTTPException
from graphql import FieldNode, GraphQLError, parse, visit
from graphql.language import Visitor
from strawberry.http import GraphQLRequestData

from app.graphql.core.registered_operations import RegisteredOperations, text_hash
from app.kernel.settings import Settings
from app.organizations.roles import Role, describe, parse_roles

# A document can only select __schema or __type by writing the name (__typename is not matched):
# this test on the text (about 3 us for 30 KB; a leading \b made it 60 times slower) spares every
# other request a parse; what it matches in a comment or a string is settled by the parse.
INTROSPECTION_NAMES = frozenset({"__schema", "__type"})
MAY_INTROSPECT = re.compile(r"__(?:schema|type)\b")


class OperationRefusedError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class OperationGate:
    registry: RegisteredOperations
    registered_only: bool
    introspection_roles: frozenset[Role] | None  # None: every key may introspect (development)

    @classmethod
    def from_settings(cls, settings: Settings, schema: Any) -> OperationGate:
        production = settings.environment == "production"
        directory = settings.registered_operations
        registry = RegisteredOperations.load(Path(directory), schema) if directory else RegisteredOperations({})
        registered_only = settings.registered_operations_only
        if registered_only is None:
            registered_only = production and directory is not None
        introspection_roles: frozenset[Role] | None = None
        if production:
            named = settings.introspection_roles
            introspection_roles = parse_roles(named, field="introspection_roles") if named else frozenset()
        return cls(registry, registered_only, introspection_roles)

    def admit(self, request: GraphQLRequestData, roles: frozenset[Role]) -> None:
        """Put a registered operation's text in place of its hash; refuse what may not run."""
        persisted = (request.extensions or {}).get("persistedQuery")
        if persisted is not None:
            self._take_registered(request, persisted)
        elif self.registered_only and request.query is not None and not self.registry.holds(request.query):
            raise OperationRefusedError(
                "OPERATION_NOT_REGISTERED",
                "Only registered operations run here: send extensions.persistedQuery.sha256Hash.",
            )
        refused_introspection = self.introspection_roles is not None and self.introspection_roles.isdisjoint(roles)
        if refused_introspection and request.query is not None and _introspects(request.query):
            raise OperationRefusedError(
                "FORBIDDEN", f"Introspection (__schema, __type) needs an API key with {self._allowed()}."
            )

    def _allowed(self) -> str:
        return describe(self.introspection_roles) if self.introspection_roles else "a role no key holds here"

    def _take_registered(self, request: GraphQLRequestData, persisted: Any) -> None:
        sha256_hash = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if not isinstance(sha256_hash, str) or persisted.get("version") != 1:
            raise HTTPException(400, "extensions.persistedQuery needs version 1 and a sha256Hash string.")
        if request.query is not None:
            # Apollo's clients send the text with its hash after PERSISTED_QUERY_NOT_FOUND.
            if text_hash(request.query) != sha256_hash.lower():
                raise HTTPException(400, "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query.")
            if self.registered_only and self.registry.text_for(sha256_hash) is None:  # the hash is the text's
                raise OperationRefusedError("OPERATION_NOT_REGISTERED", "This operation is not registered.")
            return
        text = self.registry.text_for(sha256_hash)
        if text is None:
            raise OperationRefusedError(
                "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound: no registered operation has this sha256Hash."
            )
        request.query = text


def _introspects(text: str) -> bool:
    if MAY_INTROSPECT.search(text) is None:
        return False
    try:
        document = parse(text)
    except GraphQLError:
        return False  # Strawberry answers the syntax error itself
    found = False

    class FindIntrospection(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            nonlocal found
            found = found or node.name.value in INTROSPECTION_NAMES

    visit(document, FindIntrospection())
    return found
