import pytest

from .live_server import build_seeded_database


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory):
    """One migrated, seeded SQLite file per test session; each live server serves a copy."""
    return build_seeded_database(tmp_path_factory.mktemp("live-db") / "seeded.sqlite3")
