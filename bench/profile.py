"""Where a request's time goes: transfers and balance reads profiled in-process (pyinstrument).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/atm .venv/bin/python -m bench.profile [N]

Runs on a fresh scratch database `atm_bench_profile_<name>`, named after the database of
DATABASE_URL (so two people profiling on one server never drop each other's), through Django's
test client with a real JWT (no HTTP server, so what it shows is the application's own cost:
views, serializers, ORM, round trips). Prints the CPU and wall time per request, the SQL
statements per request, and pyinstrument's call tree of the transfers.
"""

import os
import sys
import time
import uuid
from urllib.parse import urlsplit

from bench.harness import BenchError, migrate, postgres_url_from_env, recreate_database


def profile_database(server_url: str) -> str:
    return "atm_bench_profile_" + urlsplit(server_url).path.lstrip("/")


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    try:
        server_url = postgres_url_from_env()
        url = recreate_database(server_url, profile_database(server_url))
    except BenchError as error:
        print(f"profile: {error}", file=sys.stderr)
        return 2
    migrate(url)
    os.environ.update(DATABASE_URL=url, DJANGO_ALLOWED_HOSTS="testserver,127.0.0.1")
    # RATELIMIT_ENABLE=1 profiles the money limit's counting too (in the database cache unless
    # REDIS_URL is set), at a rate no run reaches.
    os.environ.setdefault("RATELIMIT_ENABLE", "0")
    os.environ.setdefault("RATELIMIT_MONEY_RATE", "1000000/m")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atm_project.settings")
    import django

    django.setup()
    profile(count)
    return 0


def profile(count: int) -> None:
    from django.db import connection
    from pyinstrument import Profiler
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    from users.models import User

    user = User.objects.create_user(username=f"profile-{uuid.uuid4().hex[:6]}", password=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    numbers = []
    for _ in range(2):
        number = client.post("/api/v1/accounts/", {}, format="json").json()["number"]
        client.post(f"/api/v1/accounts/{number}/deposit/", {"amount": "100000"}, format="json")
        numbers.append(number)

    def transfer(i: int, key: bool = True):
        body = {"from_account": numbers[i % 2], "to_account": numbers[1 - i % 2], "amount": "1.00"}
        headers = {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex} if key else {}
        response = client.post("/api/v1/transfers/", body, format="json", **headers)
        assert response.status_code == 201, response.content

    def transfer_without_key(i: int):
        transfer(i, key=False)

    def balance(i: int):
        response = client.get(f"/api/v1/accounts/{numbers[i % 2]}/balance/")
        assert response.status_code == 200, response.content

    kinds = (("transfer", transfer), ("transfer without key", transfer_without_key))
    for name, request in (*kinds, ("balance", balance)):
        for i in range(20):  # warm-up: imports, prepared caches, connection
            request(i)
        captured: list[str] = []

        def record(execute, sql, params, many, context, captured=captured):
            captured.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            request(0)
        # Timed without the profiler first: its sampling costs CPU of its own.
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(count):
            request(i)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(
            f"\n=== {name}: {count} requests, {1000 * wall / count:.2f} ms wall and "
            f"{1000 * cpu / count:.2f} ms CPU per request, {len(captured)} SQL statements"
        )
        profiler = Profiler(interval=0.0005)
        with profiler:
            for i in range(count):
                request(i)
        for sql in captured:
            print(f"    {sql[:120]}")
        print(profiler.output_text(unicode=False, color=False, show_all=False, timeline=False))


if __name__ == "__main__":
    sys.exit(main())
