"""The staff role groups: what Tellers, Supervisors and Auditors may see and do in the admin.

- Tellers: view everything staff see, freeze accounts (at once: a safety action), and file
  four-eyes requests (reversal, unfreeze, card unblock, daily-limit change).
- Supervisors: what Tellers may, and approve or reject requests filed by someone else.
- Auditors: view and export only.
"""

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission

from .services import record_event

# Every model of these apps is visible to every role, including models added later.
VIEWABLE_APPS = ("users", "accounts", "transactions", "audit", "backoffice")
TELLER_ACTIONS = ("audit.freeze_account", "backoffice.file_request")
ROLES = {
    "Tellers": TELLER_ACTIONS,
    "Supervisors": (*TELLER_ACTIONS, "backoffice.decide_request"),
    "Auditors": (),
}


def setup_roles() -> dict[str, Group]:
    """Create or update the groups so that they hold exactly their role's permissions."""
    for label in VIEWABLE_APPS:
        # Permissions are normally made after `migrate`; make sure they exist before granting.
        create_permissions(apps.get_app_config(label), verbosity=0)
    view = list(
        Permission.objects.filter(
            content_type__app_label__in=VIEWABLE_APPS, codename__startswith="view_"
        )
    )
    groups = {}
    for name, actions in ROLES.items():
        granted = view + [_permission(action) for action in actions]
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(granted)
        groups[name] = group
    record_event(
        action="staff.roles_set_up",
        data={
            name: sorted(p.codename for p in group.permissions.all())
            for name, group in groups.items()
        },
    )
    return groups


def _permission(dotted: str) -> Permission:
    app_label, codename = dotted.split(".")
    permission = Permission.objects.filter(
        content_type__app_label=app_label, codename=codename
    ).first()
    if permission is None:
        raise RuntimeError(f"Permission missing: {dotted}")
    return permission
