"""The console's GraphQL documents (app/http/console/static/documents/*.graphql) are valid
against schema.graphql, so a change of the API that would break the console fails here first;
and the console loads exactly these files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, build_schema, parse, validate

from app.http.console import DOCUMENTS_DIRECTORY, STATIC_DIRECTORY

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = build_schema((ROOT / "schema.graphql").read_text())
DOCUMENT_FILES = sorted(DOCUMENTS_DIRECTORY.glob("*.graphql"))


def loaded_names() -> list[str]:
    """The names in api.js's DOCUMENTS list: the files the console fetches at load."""
    source = (STATIC_DIRECTORY / "api.js").read_text()
    listing = re.search(r"export const DOCUMENTS = \[(.*?)\];", source, re.DOTALL)
    assert listing is not None
    return re.findall(r'"(\w+)"', listing.group(1))


@pytest.mark.parametrize("path", DOCUMENT_FILES, ids=[path.stem for path in DOCUMENT_FILES])
def test_each_document_is_one_operation_named_as_its_file_and_valid_against_the_schema(path):
    document = parse(path.read_text())

    operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
    assert [operation.name.value for operation in operations if operation.name] == [path.stem]
    assert len(document.definitions) == 1
    assert [error.message for error in validate(SCHEMA, document)] == []


def test_the_console_loads_exactly_the_document_files():
    assert sorted(loaded_names()) == [path.stem for path in DOCUMENT_FILES]
    assert len(loaded_names()) == len(set(loaded_names())) == 26
