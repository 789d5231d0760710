"""The web ATM's (simulated) cash dispenser.

A real ATM asks its dispenser to pay out after the bank has put a hold on the money, then
captures what was paid or voids the hold. Here the dispenser always pays out, unless an operator
armed a fault for the terminal (`manage.py atm_fault --next-dispense fail`): then that one
dispense fails and the fault is used up.
"""

from django.db import transaction

from audit.services import record_event

from .models import DispenserFault

WEB_ATM = "web-atm"


def arm_fault(*, terminal: str = WEB_ATM) -> None:
    with transaction.atomic():
        DispenserFault.objects.get_or_create(terminal=terminal)
        record_event(action="atm.fault_armed", object_type="atm.terminal", object_id=terminal)


def clear_fault(*, terminal: str = WEB_ATM) -> bool:
    with transaction.atomic():
        cleared, _ = DispenserFault.objects.filter(terminal=terminal).delete()
        if cleared:
            record_event(action="atm.fault_cleared", object_type="atm.terminal", object_id=terminal)
    return bool(cleared)


def dispense(*, actor, terminal: str = WEB_ATM) -> bool:
    """Pay out the cash; False when an armed fault made this dispense fail. One DELETE decides,
    so of racing dispenses exactly one meets a fault."""
    with transaction.atomic():
        failed, _ = DispenserFault.objects.filter(terminal=terminal).delete()
        if failed:
            record_event(
                action="atm.dispense_failed",
                actor=actor,
                object_type="atm.terminal",
                object_id=terminal,
            )
    return not failed
