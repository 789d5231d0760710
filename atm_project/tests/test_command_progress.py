"""reconcile and verify_audit_chain show their progress on a terminal, and stay quiet when their
output is not one (cron, a pipe, a log file)."""

import io

import pytest
from django.core.management import call_command

from atm_project.progress import TerminalProgress
from audit import verification
from transactions.reconciliation import CHECKS


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(command: str, stderr: io.StringIO) -> str:
    stdout = io.StringIO()
    call_command(command, stdout=stdout, stderr=stderr)
    return stdout.getvalue()


@pytest.mark.django_db
def test_reconcile_counts_its_checks_on_a_terminal(account):
    terminal = Terminal()

    report = run("reconcile", terminal)

    assert f"Checking the ledger: {len(CHECKS)}/{len(CHECKS)} (100%)" in terminal.getvalue()
    assert "\r" not in report  # the report itself stays clean for scripts


@pytest.mark.django_db
def test_verify_audit_chain_counts_events_on_a_terminal(account, monkeypatch):
    monkeypatch.setattr(verification, "_CHUNK", 1)  # report after every event
    monkeypatch.setattr(TerminalProgress, "MIN_INTERVAL_SECONDS", 0)  # and draw every report
    terminal = Terminal()

    run("verify_audit_chain", terminal)

    assert "Verifying audit events: 1/" in terminal.getvalue()
    assert "Verifying audit events: 2/" in terminal.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["reconcile", "verify_audit_chain"])
def test_commands_are_quiet_when_not_on_a_terminal(account, monkeypatch, command):
    monkeypatch.setattr(verification, "_CHUNK", 1)
    not_a_terminal = io.StringIO()

    report = run(command, not_a_terminal)

    assert not_a_terminal.getvalue() == ""
    assert "\r" not in report
