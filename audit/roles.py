"""The staff role groups: what Tellers and Auditors may see and do in the admin."""

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission

from .services import record_event

# Every model of these apps is visible to both roles, including models added later.
VIEWABLE_APPS = ("users", "accounts", "transactions", "audit")
TELLER_ACTIONS = ("freeze_account", "unfreeze_account", "unblock_card")
ROLES = {
    "Tellers": TELLER_ACTIONS,
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
        granted = view + list(
            Permission.objects.filter(content_type__app_label="audit", codename__in=actions)
        )
        missing = set(actions) - {permission.codename for permission in granted}
        if missing:
            raise RuntimeError(f"Permissions missing for {name}: {sorted(missing)}")
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
