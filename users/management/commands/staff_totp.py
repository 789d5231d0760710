from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from atm_project.problems import DomainError
from users.totp import describe_totp, provision_totp


class Command(BaseCommand):
    help = (
        "Set up a staff member's authenticator app for the admin's two-factor sign-in: prints "
        "the provisioning URI and a QR code once. --reset replaces a lost one."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--reset", action="store_true", help="replace the existing authenticator"
        )

    def handle(self, *args, username: str, reset: bool, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None or not user.is_active or not user.is_staff:
            raise CommandError(f"{username!r} is not an active staff user.")
        try:
            device = provision_totp(user=user, replace=reset)
        except DomainError as error:
            raise CommandError(error.detail) from error
        self.stdout.write(
            f"Scan this with an authenticator app for {username}; it is shown only now.\n"
        )
        self.stdout.write(describe_totp(device))
