"""Admin actions that change something: ask for a reason on an intermediate page, then call the
service for each selected object and record the action, with its reason, in the audit trail."""

from collections.abc import Callable
from dataclasses import dataclass, field

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.template.response import TemplateResponse

from atm_project.problems import DomainError

from .services import record_event

REASON_MAX_LENGTH = 255
TEMPLATE = "admin/audit/action_reason.html"


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Kept in the audit trail with your name.",
    )

    def __init__(self, *args, confirmation: str = "", extra_fields=None, **kwargs):
        super().__init__(*args, **kwargs)
        # What the action needs besides the reason (a new limit...), asked first.
        for name, make_field in reversed(list((extra_fields or {}).items())):
            self.fields = {name: make_field(), **self.fields}
        if confirmation:
            self.fields["confirm"] = forms.BooleanField(label=confirmation, required=True)


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


@dataclass
class StaffAction:
    """One action: what it is called, and what it does to one object (a service call).

    Not frozen: `admin.action` sets the permission and description attributes on it.
    """

    name: str
    verb: str
    perform: Callable[..., None]
    confirmation: str = ""
    # Field name -> a function making the form field; its value is passed to `perform` by name.
    extra_fields: dict = field(default_factory=dict)

    def __call__(self, modeladmin: admin.ModelAdmin, request, queryset: QuerySet):
        if "apply" in request.POST:
            form = ReasonForm(
                request.POST, confirmation=self.confirmation, extra_fields=self.extra_fields
            )
            if form.is_valid():
                extra = {name: form.cleaned_data[name] for name in self.extra_fields}
                self._apply(modeladmin, request, queryset, form.cleaned_data["reason"], extra)
                return None  # back to the change list, where the messages are shown
        else:
            form = ReasonForm(confirmation=self.confirmation, extra_fields=self.extra_fields)
        return TemplateResponse(
            request,
            TEMPLATE,
            {
                **modeladmin.admin_site.each_context(request),
                "title": f"{self.verb.capitalize()}: give a reason",
                "verb": self.verb,
                "action_name": self.name,
                "objects": list(queryset),
                "form": form,
                "opts": modeladmin.model._meta,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "select_across": request.POST.get("select_across", "0"),
            },
        )

    def _apply(self, modeladmin, request, queryset, reason: str, extra: dict) -> None:
        outcome = Outcome()
        for obj in queryset:
            try:
                self.perform(obj, reason, request.user, **extra)
            except DomainError as error:
                outcome.refused[str(obj.pk)] = error.detail
                modeladmin.message_user(request, f"{obj}: {error.detail}", messages.ERROR)
            else:
                outcome.done.append(str(obj.pk))
        record_event(
            action=f"admin.{self.name}",
            actor=request.user,
            object_type=modeladmin.model._meta.label_lower,
            object_id=",".join(outcome.done + list(outcome.refused))[:64],
            data={"reason": reason, **extra, "done": outcome.done, "refused": outcome.refused},
        )
        if outcome.done:
            modeladmin.message_user(
                request, f"{self.verb.capitalize()}: {len(outcome.done)} done.", messages.SUCCESS
            )


def staff_action(
    *,
    name: str,
    verb: str,
    permission: str,
    description: str,
    confirmation="",
    extra_fields=None,
):
    """Decorate `perform(obj, reason, actor, **extra)` into an admin action gated by `permission`.

    `permission` names a `has_<permission>_permission(request)` method of the ModelAdmin, so
    staff without it never see the action.
    """

    def decorate(perform):
        action = StaffAction(
            name=name,
            verb=verb,
            perform=perform,
            confirmation=confirmation,
            extra_fields=extra_fields or {},
        )
        action.__name__ = name
        return admin.action(permissions=[permission], description=description)(action)

    return decorate
