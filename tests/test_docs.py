"""Docs that can drift are checked against the code: settings, commands, routes, CLI reference."""

from __future__ import annotations

import re
from pathlib import Path

import click

from heritage_hubs.cli import main
from heritage_hubs.config import SETTINGS, Settings
from heritage_hubs.docs import cli_reference
from heritage_hubs.server import create_app

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_starts_with_the_two_commands() -> None:
    block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert block and README.index(block.group(0)) < README.index("heritage-hubs** is")
    commands = [line.split("#")[0].strip() for line in block.group(1).strip().splitlines()]
    assert commands == ["./run serve", "./run test"]
    assert "./run test" in (ROOT / ".ci" / "run").read_text()


def test_every_setting_is_documented_with_its_default() -> None:
    for setting in SETTINGS:
        row = next((line for line in README.splitlines() if line.startswith(f"| `{setting.env}`")), None)
        assert row is not None, f"{setting.env} is missing from the README settings table"
        assert setting.default in row


def test_every_environment_variable_read_is_a_documented_setting() -> None:
    files = [ROOT / "heritage_hubs" / "config.py", ROOT / "heritage_hubs" / "cli.py", *sorted((ROOT / "graph").glob("*.py")),
             *sorted((ROOT / "server").glob("*.py"))]
    source = "".join(path.read_text() for path in files)
    read = re.findall(r'(?:environ\.get\(|environ\[|envvar=)"(HERITAGE_HUBS_[A-Z_]+)"', source)
    assert set(read) == {s.env for s in SETTINGS}


def test_every_command_is_in_the_readme() -> None:
    context = click.Context(main)
    for name in main.list_commands(context):
        assert f"`{name}`" in README, f"command {name} is not mentioned in the README"


def test_every_http_route_is_listed(tmp_path: Path) -> None:
    app = create_app(Settings(store_path=tmp_path / "store"))
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    for rule in rules:
        assert f"| `{rule}`" in README, f"route {rule} is not in the README's HTTP table"


def test_cli_reference_is_current() -> None:
    assert (ROOT / "docs" / "cli.md").read_text() == cli_reference(), "run ./run docs"
