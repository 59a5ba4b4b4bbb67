"""Registered (persisted) operations: documents an operator allows, each known by its SHA-256.

A client sends `{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "..."}}}` without
a query (Apollo's convention) and the registered text runs. The registry is a directory of
.graphql files read once at start: each file is one document, keyed by the SHA-256 of its exact
bytes (what `sha256sum FILE` prints), and must be valid against the schema, so a mistake stops
the server at start rather than failing a client later.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from graphql import GraphQLError, parse, validate
from graphql import GraphQLSchema as CoreSchema


class RegistryError(Exception):
    """The registry cannot be read, or one of its documents is not valid against the schema."""


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class RegisteredOperations:
    def __init__(self, documents: dict[str, str]) -> None:
        self._documents = documents  # SHA-256 hex digest -> document text

    def text_for(self, sha256_hash: str) -> str | None:
        return self._documents.get(sha256_hash.lower())

    def holds(self, text: str) -> bool:
        return text_hash(text) in self._documents

    @classmethod
    def load(cls, directory: Path, schema: CoreSchema) -> RegisteredOperations:
        if not directory.is_dir():
            raise RegistryError(f"registered operations: {directory} is not a directory")
        documents: dict[str, str] = {}
        for path in sorted(directory.glob("*.graphql")):
            try:
                text = path.read_bytes().decode()
                errors = validate(schema, parse(text))
            except (UnicodeDecodeError, GraphQLError) as error:
                raise RegistryError(f"registered operations: {path.name}: {error}") from error
            if errors:
                raise RegistryError(f"registered operations: {path.name}: {errors[0].message}")
            documents[text_hash(text)] = text  # the file's bytes: UTF-8 decoded and encoded again
        return cls(documents)
