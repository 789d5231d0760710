"""The staff admin's pages for accounts, cards, the ledger and four-eyes requests."""

from . import accounts, ledger, requests  # noqa: F401  (each registers its ModelAdmins)
