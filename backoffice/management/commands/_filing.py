"""What the commands that file a four-eyes request share."""

from users.staff import StaffCommand


class FilingCommand(StaffCommand):
    """Files a request with `--reason` as `--actor`; a different supervisor approves it with
    `approve_request N --actor USERNAME`."""

    def add_arguments(self, parser):
        self.add_target_arguments(parser)
        parser.add_argument("--reason", required=True, help="Why (required; it is audited).")

    def add_target_arguments(self, parser) -> None:
        raise NotImplementedError

    def act(self, *args, actor, reason, **options) -> str:
        request = self.file(actor=actor, reason=reason, **options)
        return (
            f"Request #{request.pk} filed by {actor.username}: {request.get_kind_display()} "
            f"({request.target}). A different supervisor approves it with "
            f"`approve_request {request.pk} --actor USERNAME`."
        )

    def file(self, *, actor, reason, **options):
        raise NotImplementedError
