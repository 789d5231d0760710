from django.core.management.base import BaseCommand

from atm.dispenser import WEB_ATM, arm_fault, clear_fault


class Command(BaseCommand):
    help = (
        "Simulate a cash-dispenser fault: `--next-dispense fail` makes the next withdrawal at the "
        "terminal fail to pay out (the web ATM then voids its hold with dispense_failed); "
        "`--next-dispense ok` disarms a fault not yet met."
    )

    def add_arguments(self, parser):
        parser.add_argument("--next-dispense", choices=["fail", "ok"], required=True)
        parser.add_argument("--terminal", default=WEB_ATM, help=f"default {WEB_ATM}, the web ATM")

    def handle(self, *args, next_dispense: str, terminal: str, **options):
        if next_dispense == "fail":
            arm_fault(terminal=terminal)
            self.stdout.write(f"The next dispense at {terminal} will fail.")
        elif clear_fault(terminal=terminal):
            self.stdout.write(f"Fault at {terminal} disarmed.")
        else:
            self.stdout.write(f"No fault was armed at {terminal}.")
