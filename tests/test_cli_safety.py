"""The command line does not leave things behind it should not: no empty database created by a
command that needs one, no demo secret readable by other users, no traceback when an import is
taken over (issue 12)."""

from __future__ import annotations

import json
import re
import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import cli
from app.imports.errors import ImportInterruptedError
from app.kernel.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def in_scratch_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POINTLEDGER_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'pointledger.db'}")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def invoke(clock, *args: str):
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "250"}, obj=clock)


@pytest.mark.parametrize(
    "command", [("org", "apply", "org.toml"), ("apikey", "list", "demo"), ("reconcile",), ("expire",)]
)
def test_a_command_that_needs_a_database_refuses_when_there_is_none(in_scratch_directory, clock, command):
    shutil.copy(ROOT / "demo" / "org.toml", in_scratch_directory / "org.toml")

    result = invoke(clock, *command)

    assert result.exit_code == 2
    assert "no database at" in result.output
    assert "run `pointledger db upgrade` first" in result.output
    assert not (in_scratch_directory / "pointledger.db").exists()


def test_the_demo_outside_the_checkout_says_where_to_run_it_and_creates_nothing(in_scratch_directory, clock):
    result = invoke(clock, "demo")

    assert result.exit_code == 2
    assert "no demo/org.toml here: run `pointledger demo` in the checkout" in result.output
    assert list(in_scratch_directory.iterdir()) == []


def test_the_demo_writes_its_key_readable_by_its_user_only(in_scratch_directory, clock):
    shutil.copytree(ROOT / "demo", in_scratch_directory / "demo")

    first = invoke(clock, "demo")
    mode = stat.S_IMODE((in_scratch_directory / ".pointledger-demo-key.json").stat().st_mode)
    again = invoke(clock, "demo")

    assert (first.exit_code, again.exit_code) == (0, 0), first.output + again.output
    assert mode == 0o600
    assert first.output.splitlines()[0] == again.output.splitlines()[0]  # the same key, reused


def test_an_import_taken_over_by_another_runner_stops_with_one_line(in_scratch_directory, clock, monkeypatch):
    async def taken_over(*args, **kwargs):
        raise ImportInterruptedError("import job 7 was taken over by another runner")

    assert invoke(clock, "db", "upgrade").exit_code == 0
    shutil.copy(ROOT / "demo" / "org.toml", in_scratch_directory / "org.toml")
    assert invoke(clock, "org", "apply", "org.toml").exit_code == 0
    (in_scratch_directory / "points.csv").write_text("customerprofileid,amount\nA-1,10\n")
    monkeypatch.setattr("app.imports.service.run_job", taken_over)

    result = invoke(clock, "import", "points", "points.csv", "--org", "demo", "--program", "rewards")

    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == "stopped: import job 7 was taken over by another runner"
    assert "Traceback" not in result.output


def test_the_demo_refuses_to_run_in_production(in_scratch_directory, clock, monkeypatch):
    shutil.copytree(ROOT / "demo", in_scratch_directory / "demo")
    monkeypatch.setenv("POINTLEDGER_ENVIRONMENT", "production")
    get_settings.cache_clear()

    result = invoke(clock, "demo")

    assert result.exit_code == 1
    assert result.output == (
        "error: `pointledger demo` does not run in production (POINTLEDGER_ENVIRONMENT=production)\n"
    )
    assert not (in_scratch_directory / "pointledger.db").exists()
    assert not (in_scratch_directory / ".pointledger-demo-key.json").exists()


def test_the_demo_key_holds_every_role_and_a_key_from_before_roles_is_replaced(in_scratch_directory, clock):
    shutil.copytree(ROOT / "demo", in_scratch_directory / "demo")
    assert invoke(clock, "demo").exit_code == 0
    first = json.loads((in_scratch_directory / ".pointledger-demo-key.json").read_text())
    narrowed = invoke(clock, "apikey", "create", "demo", "--role", "till", "--role", "app")
    key_id = re.search(r"key id: (\S+)", narrowed.output).group(1)
    secret = re.search(r"secret: (\S+)", narrowed.output).group(1)
    (in_scratch_directory / ".pointledger-demo-key.json").write_text(json.dumps({"key_id": key_id, "secret": secret}))

    assert invoke(clock, "demo").exit_code == 0
    replaced = json.loads((in_scratch_directory / ".pointledger-demo-key.json").read_text())
    listed = dict(re.findall(r"(pk_\w+) +│ \w* +│ ([\w,]+)", invoke(clock, "apikey", "list", "demo").output))

    assert "key created with roles till,app " in narrowed.output
    assert replaced["key_id"] not in {first["key_id"], key_id}
    assert listed == {
        first["key_id"]: "till,app,member_care,admin",
        key_id: "till,app",
        replaced["key_id"]: "till,app,member_care,admin",
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((), "error INVALID_INPUT: name at least one role: till, app, member_care, admin (--role)"),
        (
            ("--role", "cashier"),
            "error INVALID_INPUT: unknown role cashier: choose from till, app, member_care, admin (--role)",
        ),
    ],
)
def test_a_key_needs_known_roles(in_scratch_directory, clock, arguments, message):
    shutil.copytree(ROOT / "demo", in_scratch_directory / "demo")
    assert invoke(clock, "db", "upgrade").exit_code == 0
    assert invoke(clock, "org", "apply", "demo/org.toml").exit_code == 0

    result = invoke(clock, "apikey", "create", "demo", *arguments)

    assert (result.exit_code, result.output) == (2, message + "\n")
    assert "pk_" not in invoke(clock, "apikey", "list", "demo").output
