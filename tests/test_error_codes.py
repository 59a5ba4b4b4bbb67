"""The ErrorCode enum of the schema lists every code a domain error can carry, so a new error code
cannot be left out of it: read once from the error classes loaded at run time, and once from the
source of every module under app/ (a code can be declared in a module the schema does not load)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from app.graphql.core.error_codes import DESCRIPTION_MISSING, domain_error_classes, error_code_enum
from app.graphql.core.schema import schema

APP = Path(__file__).resolve().parent.parent / "app"
CODE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$")


def published_codes() -> dict[str, str | None]:
    return {value.name: value.description for value in error_code_enum().__strawberry_definition__.values}


def codes_in_source() -> dict[str, str]:
    """code -> where, for the error classes of app/ (by their names' inheritance from DomainError): a
    class's `code = "..."`, and a code passed to one as its first argument (ImportFileError("NO_ROWS",
    ...), or super().__init__("FILE_TOO_LARGE", ...) inside one)."""
    trees = {
        path: ast.parse(path.read_text(), str(path))
        for path in sorted(APP.rglob("*.py"))
        if "graphql" not in path.relative_to(APP).parts
    }
    bases: dict[str, set[str]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases.setdefault(node.name, set()).update(_name(base) for base in node.bases)
    error_classes = {"DomainError"}
    while grown := {name for name, named in bases.items() if named & error_classes} - error_classes:
        error_classes |= grown
    error_classes.remove("DomainError")  # its placeholder code reaches no client

    found: dict[str, str] = {}
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in error_classes:
                for statement in node.body:
                    if (
                        isinstance(statement, ast.Assign)
                        and any(isinstance(target, ast.Name) and target.id == "code" for target in statement.targets)
                        and isinstance(statement.value, ast.Constant)
                        and isinstance(statement.value.value, str)
                    ):
                        found[statement.value.value] = f"{path.name}: class {node.name}"
                for call in ast.walk(node):
                    if isinstance(call, ast.Call) and _is_super_init(call) and _first_code(call):
                        found[_first_code(call)] = f"{path.name}: {node.name}.__init__"
            elif isinstance(node, ast.Call) and _name(node.func) in error_classes and _first_code(node):
                found[_first_code(node)] = f"{path.name}:{node.lineno} {_name(node.func)}(...)"
    return found


def _name(expression: ast.expr) -> str:
    if isinstance(expression, ast.Name):
        return expression.id
    return expression.attr if isinstance(expression, ast.Attribute) else ""


def _is_super_init(call: ast.Call) -> bool:
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "__init__"
        and isinstance(func.value, ast.Call)
        and _name(func.value.func) == "super"
    )


def _first_code(call: ast.Call) -> str:
    arguments = [*call.args[:1], *(keyword.value for keyword in call.keywords if keyword.arg == "code")]
    for argument in arguments:
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str) and CODE.match(argument.value):
            return argument.value
    return ""


def test_every_code_declared_in_the_source_is_in_the_error_code_enum():
    declared = codes_in_source()

    missing = {code: where for code, where in declared.items() if code not in published_codes()}

    assert len(declared) > 50  # the scan does find the codes
    assert missing == {}, "add these codes to app/graphql/core/error_codes.py, then run scripts/export-schema"


def test_every_code_of_a_loaded_error_class_is_in_the_error_code_enum():
    codes = {error_class.__dict__["code"] for error_class in domain_error_classes() if "code" in error_class.__dict__}

    assert codes - set(published_codes()) == set()


def test_every_error_code_says_what_it_means():
    undescribed = sorted(code for code, description in published_codes().items() if description == DESCRIPTION_MISSING)

    assert undescribed == [], "give the error class a docstring (or add the code to DESCRIPTIONS in error_codes.py)"


def test_the_enum_is_published_and_error_code_stays_a_string():
    printed = schema.as_str()

    assert "enum ErrorCode {" in printed
    assert "interface Error {\n  code: String!" in printed
    assert list(published_codes()) == sorted(published_codes())
