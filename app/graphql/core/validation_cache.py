"""Validation results cached by the parsed document itself, not by its value.

Strawberry's ValidationCache keys an `lru_cache` on (schema, document, rules), so every request
hashes the whole document tree (graphql-core's nodes hash field by field, recursively: about a
hundred node hashes for the ledger page's document) just to find the entry. The parser cache
hands every request with the same text the same document object, so the object's identity is
key enough: the entry holds the document, which keeps its id from being reused while the entry
lives. A document parsed again (the parser cache dropped it) is validated again, as a new text is.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

# The size of the parser cache: one entry per document it can hold.
VALIDATED_DOCUMENTS_MAX = 1024

_Key = tuple[int, int, tuple[Any, ...]]


class ValidatedDocuments:
    """An LRU of validation results by (schema, document, rules) identity."""

    def __init__(self, maxsize: int = VALIDATED_DOCUMENTS_MAX) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[_Key, tuple[Any, Any, list[GraphQLError]]] = OrderedDict()
        self.hits = self.misses = 0

    def errors(self, schema: Any, document: Any, rules: tuple[Any, ...]) -> list[GraphQLError]:
        key = (id(schema), id(document), rules)  # rules: a tuple of classes, hashed by identity
        entry = self._entries.get(key)
        if entry is not None:
            self.hits += 1
            self._entries.move_to_end(key)
            return entry[2]
        self.misses += 1
        errors = validate_document(schema, document, rules)
        self._entries[key] = (schema, document, errors)  # held: their ids stay theirs
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return errors


validated_documents = ValidatedDocuments()


class DocumentValidationCache(SchemaExtension):
    """Strawberry's ValidationCache (the same results), keyed by the document's identity."""

    def on_validate(self) -> Iterator[None]:
        execution_context = self.execution_context
        execution_context.pre_execution_errors = validated_documents.errors(
            execution_context.schema._schema, execution_context.graphql_document, execution_context.validation_rules
        )
        yield
