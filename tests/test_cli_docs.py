"""Every command documents itself, and the command reference (docs/commands.md) names every command."""

import re
from pathlib import Path

import typer
from typer.main import get_command

from pipeline.cli import app

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout


def _commands(group, prefix=()):  # type: ignore[no-untyped-def]
    for name, command in group.commands.items():
        path = (*prefix, name)
        if hasattr(command, "commands"):
            yield from _commands(command, path)
        else:
            yield path, command


def test_every_command_has_help_and_is_in_the_command_reference():
    root = get_command(app)
    reference = (PROJECT_ROOT / "docs" / "commands.md").read_text().replace("\\|", "|")
    commands = list(_commands(root))
    assert len(commands) >= 20
    for path, command in commands:
        assert (command.help or "").strip(), f"triage {' '.join(path)} has no help text"
        # "triage taxonomy list|show ID|export" names three commands
        pattern = rf"triage {' '.join(path[:-1])}{' ' if len(path) > 1 else ''}(?:[\w ]*\|)*{path[-1]}\b"
        assert re.search(pattern, reference), f"docs/commands.md does not mention triage {' '.join(path)}"
        for parameter in command.params:
            if isinstance(parameter, typer.core.TyperOption) or parameter.param_type_name == "option":
                assert parameter.help, f"triage {' '.join(path)} {parameter.opts[0]} has no help"


def test_triage_alone_says_where_to_start():
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("bv-triage reads council papers")
    for first_step in ("triage run ", "triage summary ", "triage reviewers add NAME", "triage doctor "):
        assert first_step in result.output
    assert "Data directory: " in result.output
