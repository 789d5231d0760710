from backoffice.approvals import approve
from users.staff import StaffCommand


class Command(StaffCommand):
    help = (
        "Approve a pending four-eyes request and execute it, in one transaction. Only a member "
        "of Supervisors who did not file it may."
    )

    def add_arguments(self, parser):
        parser.add_argument("request_id", metavar="N", help="The request's number.")

    def act(self, *, request_id, actor, **options) -> str:
        request = approve(request_id=request_id, actor=actor)
        return f"Request #{request.pk} approved by {actor.username}: {request.outcome}."
