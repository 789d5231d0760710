"""Who a staff command acts as: `--actor USERNAME`, an active staff user, recorded with every
change the command makes."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from atm_project.problems import DomainError


def active_staff(username: str):
    """The active staff user with this username, or CommandError naming why not."""
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None or not user.is_active or not user.is_staff:
        raise CommandError(f"--actor {username!r} is not an active staff user.")
    return user


class StaffCommand(BaseCommand):
    """A command run by a named staff member: `--actor` is required and resolved before
    `act(actor=..., **options)` runs; a refused change (a DomainError) exits 1 with its reason."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument(
            "--actor",
            required=True,
            metavar="USERNAME",
            help="The staff member doing this (an active staff user); recorded in the audit.",
        )
        return parser

    def handle(self, *args, actor: str, **options):
        staff = active_staff(actor)
        try:
            message = self.act(*args, actor=staff, **options)
        except DomainError as error:
            raise CommandError(error.detail) from error
        self.stdout.write(self.style.SUCCESS(message))

    def act(self, *args, actor, **options) -> str:
        raise NotImplementedError
