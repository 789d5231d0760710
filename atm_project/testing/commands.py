"""Run a management command in the test's process and read what it printed.

    from atm_project.testing.commands import run_command

    assert "frozen" in run_command("freeze_account", number, "--reason", "skimmed").stdout

A CommandError propagates, as `manage.py` would exit with it. For a command in a child process
with the production settings, see run_manage in atm_project/testing/live_server.py.
"""

from io import StringIO
from typing import NamedTuple

from django.core.management import call_command


class CommandOutput(NamedTuple):
    stdout: str
    stderr: str


def run_command(name: str, *args: str) -> CommandOutput:
    out, err = StringIO(), StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return CommandOutput(out.getvalue(), err.getvalue())
