"""Placeholder until the light-request-path branch lands: the caller always loaded the user."""


def posting_claims(actor) -> tuple[int, str | None]:
    return actor.pk, None
