"""The house's layers, read from the imports of every module under app/ (lazy imports included).

    kernel  <-  storage  <-  domains (ledger at the bottom)  <-  use cases  <-  graphql, http, cli

Arrows point one way: no package imports a package that imports it back, the kernel imports
nothing of the app, storage only the kernel, the outbox only the kernel and storage (every
domain appends its events there, the ledger's expiry run too), the ledger only organisations,
the outbox, kernel and storage,
no domain imports the outward-facing layers, `rules.py` modules do no I/O, and in a domain only
`repository.py` (and `models.py`, its tables) builds SQL.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
OUTWARD = {"graphql", "http", "cli"}
FOUNDATION = {"kernel", "storage"}
CONNECTION_TYPE = {"sqlalchemy.ext.asyncio", "sqlalchemy.ext.asyncio.AsyncConnection"}
IO_MODULES = ("sqlalchemy", "sqlmodel", "asyncpg", "aiosqlite", "app.storage", "httpx", "starlette")


def imports_by_module() -> dict[str, set[str]]:
    """app.<package>.<module> -> every module it imports, at any depth of its code."""
    found: dict[str, set[str]] = {}
    for path in APP.rglob("*.py"):
        module = ".".join(path.relative_to(APP.parent).with_suffix("").parts).removesuffix(".__init__")
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[module] = names
    return found


def package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "app" else None


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    packages = {path.name for path in APP.iterdir() if (path / "__init__.py").exists()}
    for module, names in imports_by_module().items():
        source = package_of(module)
        for name in names:
            target = name.split(".")[1] if name.startswith("app.") else None
            if source and target in packages and target != source:
                graph[source].add(target)
    return graph


def test_no_package_imports_a_package_that_imports_it_back():
    graph = package_graph()

    mutual = sorted({tuple(sorted((a, b))) for a in graph for b in graph[a] if a in graph.get(b, set())})

    assert mutual == []


def test_the_kernel_imports_nothing_of_the_app_and_storage_only_the_kernel():
    graph = package_graph()

    assert graph.get("kernel", set()) == set()
    assert graph.get("storage", set()) <= {"kernel"}


def test_the_outbox_sits_under_every_domain():
    assert package_graph()["outbox"] <= {"kernel", "storage"}


def test_the_ledger_is_the_bottom_of_the_domains():
    assert package_graph()["ledger"] <= {"organizations", "outbox", "kernel", "storage"}


def test_no_domain_imports_graphql_http_or_the_cli():
    graph = package_graph()

    reaching_out = {package: sorted(graph[package] & OUTWARD) for package in graph if package not in OUTWARD}

    assert {package: targets for package, targets in reaching_out.items() if targets} == {}


def test_the_graphql_layer_knows_nothing_of_http_or_the_cli():
    assert package_graph()["graphql"] & {"http", "cli"} == set()


def test_rules_modules_do_no_io():
    doing_io = {
        module: sorted(name for name in names if name.startswith(IO_MODULES))
        for module, names in imports_by_module().items()
        if module.endswith(".rules")
    }

    assert {module: names for module, names in doing_io.items() if names} == {}


def test_only_repositories_and_models_write_sql():
    """Use cases hand a connection to repositories: the only SQLAlchemy name they take is its type."""
    domains = {
        path.name for path in APP.iterdir() if (path / "__init__.py").exists() and path.name not in OUTWARD | FOUNDATION
    }
    writing_sql = {
        module: sorted(name for name in names if name.startswith("sqlalchemy") and name not in CONNECTION_TYPE)
        for module, names in imports_by_module().items()
        if package_of(module) in domains and module.rsplit(".", 1)[-1] not in ("repository", "models")
    }

    assert {module: names for module, names in writing_sql.items() if names} == {}
