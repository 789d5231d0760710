from backoffice.approvals import reject
from users.staff import StaffCommand


class Command(StaffCommand):
    help = "Reject a pending four-eyes request; nothing changes. Supervisors only, not one's own."

    def add_arguments(self, parser):
        parser.add_argument("request_id", metavar="N", help="The request's number.")
        parser.add_argument("--reason", required=True, help="Why (required; it is audited).")

    def act(self, *, request_id, reason, actor, **options) -> str:
        request = reject(request_id=request_id, actor=actor, reason=reason)
        return f"Request #{request.pk} rejected by {actor.username}."
