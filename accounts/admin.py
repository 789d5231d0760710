"""Staff view of accounts and cards: read-only, plus freeze, unfreeze and unblock with a reason.

Balances change only through the ledger (transactions.services), so nothing here can edit one,
and accounts are opened by customers through the API, never added here with a balance.
"""

from django.contrib import admin

from atm_project.problems import DomainError
from audit.admin_mixins import ReadOnlyAdmin, StaffPermissionsMixin
from audit.staff_actions import staff_action

from . import cards, services
from .models import Account, Card


class NoBlockedCard(DomainError):
    status, code, title = 409, "card_not_blocked", "No blocked card"


class StaffCardActionsMixin(StaffPermissionsMixin):
    def has_unblock_card_permission(self, request):
        return self._staff_may(request, "unblock_card")


@admin.register(Account)
class AccountAdmin(StaffCardActionsMixin, ReadOnlyAdmin):
    list_display = ("number", "owner", "kind", "currency", "balance", "status", "opened_at")
    list_select_related = ("owner",)
    list_filter = ("status", "kind", "currency")
    search_fields = ("^number", "owner__username", "owner__email")
    readonly_fields = (
        "number",
        "owner",
        "kind",
        "currency",
        "balance",
        "status",
        "daily_withdrawal_limit",
        "opened_at",
    )
    fields = readonly_fields
    actions = ("freeze", "unfreeze", "unblock_cards")
    show_full_result_count = False

    def has_freeze_permission(self, request):
        return self._staff_may(request, "freeze_account")

    def has_unfreeze_permission(self, request):
        return self._staff_may(request, "unfreeze_account")

    @staff_action(
        name="freeze",
        verb="freeze",
        permission="freeze",
        description="Freeze selected accounts",
    )
    def freeze(account, reason, actor):
        services.freeze_account(number=account.number, actor=actor, reason=reason)

    @staff_action(
        name="unfreeze",
        verb="unfreeze",
        permission="unfreeze",
        description="Unfreeze selected accounts",
    )
    def unfreeze(account, reason, actor):
        services.unfreeze_account(number=account.number, actor=actor, reason=reason)

    @staff_action(
        name="unblock_cards",
        verb="unblock the cards of",
        permission="unblock_card",
        description="Unblock the blocked cards of selected accounts",
    )
    def unblock_cards(account, reason, actor):
        blocked = list(account.cards.filter(status=Card.Status.BLOCKED))
        if not blocked:
            raise NoBlockedCard(f"Account {account.number} has no blocked card.")
        for card in blocked:
            cards.unblock_card(card_number=card.number, actor=actor, reason=reason)


@admin.register(Card)
class CardAdmin(StaffCardActionsMixin, ReadOnlyAdmin):
    """Cards by their masked number only: the full number and the PIN hash never appear."""

    list_display = ("masked_number", "account", "status", "failed_attempts", "expires_on")
    list_select_related = ("account",)
    list_filter = ("status",)
    # Staff may look a card up by its full number (exact match) or by its account.
    search_fields = ("=number", "^account__number")
    fields = ("masked_number", "account", "status", "failed_attempts", "expires_on", "issued_at")
    readonly_fields = fields
    actions = ("unblock",)
    show_full_result_count = False

    @staff_action(
        name="unblock",
        verb="unblock",
        permission="unblock_card",
        description="Unblock selected cards",
    )
    def unblock(card, reason, actor):
        cards.unblock_card(card_number=card.number, actor=actor, reason=reason)
