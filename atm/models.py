from django.db import models


class DispenserFault(models.Model):
    """A simulated cash-dispenser fault armed for the next dispense at a terminal (`manage.py
    atm_fault --next-dispense fail`). The dispense that meets it deletes it: one fault, one
    failed dispense, whichever worker serves it (it lives in the database, shared by all)."""

    terminal = models.CharField(max_length=64, unique=True)
    armed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Next dispense at {self.terminal} fails"
