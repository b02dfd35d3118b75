"""The conventions every command keeps, walked over the whole command line: whole help
texts, each command in the README, `--version`, ISO dates, and one-line errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ketenbrug.cli import main

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _commands(group: click.Group, path: tuple[str, ...] = ()):
    context = click.Context(group)
    for name in group.list_commands(context):  # the top level loads its commands lazily
        command = group.get_command(context, name)
        assert command is not None and command.name == name, name
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


COMMANDS = dict(_commands(main))


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_every_command_has_whole_help_and_is_in_the_readme(path):
    done = CliRunner().invoke(main, [*path, "--help"])
    assert done.exit_code == 0, done.output
    listing = done.output.split("Commands:", 1)[1] if "Commands:" in done.output else ""
    # A listing shows each sub-command's first sentence whole, never cut with "...".
    assert not re.search(r"\.\.\.$", listing, re.M), listing
    assert COMMANDS[path].help, f"ketenbrug {' '.join(path)} has no help text"
    assert f"ketenbrug {' '.join(path)}" in README, \
        f"`ketenbrug {' '.join(path)}` is not in README.md"


def test_the_top_listing_is_whole_too():
    done = CliRunner().invoke(main, ["--help"])
    assert done.exit_code == 0
    listing = done.output.split("Commands:", 1)[1]
    assert not re.search(r"\.\.\.$", listing, re.M), listing


def test_version_is_the_installed_package_version():
    from importlib.metadata import version

    done = CliRunner().invoke(main, ["--version"])
    assert done.exit_code == 0 and done.output.strip() == f"ketenbrug {version('ketenbrug')}"


def test_every_reference_date_is_named_as_of_and_is_iso():
    dated = [path for path, command in COMMANDS.items()
             if any("--as-of" in p.opts for p in command.params)]
    assert {("retention", "plan"), ("retention", "apply"), ("privacy", "scan"),
            ("world", "serve")} <= set(dated)
    assert not [path for path, command in COMMANDS.items()
                if any(o in ("--today", "--date") for p in command.params for o in p.opts)]
    done = CliRunner().invoke(main, ["retention", "plan", "--as-of", "30-11-2026"])
    assert done.exit_code == 2
    assert "'30-11-2026' is not a date as YYYY-MM-DD" in done.output
    assert "Traceback" not in done.output


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ketenbrug.cli", *args], capture_output=True,
                          text=True, env={"KETENBRUG_HOME": str(home), "PATH": "/usr/bin:/bin"},
                          timeout=120)


@pytest.mark.parametrize("args", [("status",), ("quarantine", "list"),
                                  ("retention", "plan"), ("audit", "verify"),
                                  ("profiles", "show", "--org", "RN")], ids=" ".join)
def test_a_home_that_does_not_exist_is_refused_in_one_line_and_not_made(tmp_path, args):
    home = tmp_path / "mistyped"
    done = _cli(home, *args)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"Error: no hub at {home}: that folder does not exist (point KETENBRUG_HOME at the "
        "hub's home, or make one with `ketenbrug demo` or `ketenbrug run`)"]
    assert not home.exists()


def test_an_unexpected_error_is_one_line_and_a_traceback_only_with_debug(tmp_path):
    home = tmp_path / "hub"
    home.mkdir()
    garbage = home / "warehouse.duckdb"
    garbage.write_bytes(b"not a database, but a file a user put here")
    garbage.chmod(0o600)
    quiet = _cli(home, "quarantine", "list")
    assert quiet.returncode == 1
    (line,) = quiet.stderr.strip().splitlines()
    assert line.startswith("Error: ") and "--debug" in line and "Traceback" not in line
    loud = _cli(home, "--debug", "quarantine", "list")
    assert loud.returncode == 1 and "Traceback (most recent call last)" in loud.stderr
