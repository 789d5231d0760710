"""A newcomer's first minutes: the landing page, the favicon, the API root, and what `make run`
prints (or refuses)."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from .test_page import parse

BASE_DIR = Path(__file__).resolve().parents[2]
PLAIN_STATIC_STORAGE = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}


@pytest.fixture
def static_from_sources(settings):
    settings.STORAGES = {**settings.STORAGES, "staticfiles": PLAIN_STATIC_STORAGE}
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.mark.django_db
def test_the_landing_page_links_the_web_atm_the_docs_and_the_admin(static_from_sources):
    client = Client()
    response = client.get("/")

    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    html = response.content.decode()
    links = {attrs["href"] for tag, attrs in parse(html) if tag == "a"}
    assert {"/atm", "/api/docs", "/api/v1", "/admin/", "/healthz"} <= links
    assert "4000001234567899" in html and "demo-pass-2468" in html
    for link in links:
        assert client.get(link).status_code in (200, 302), link  # the admin redirects to sign-in


def test_the_favicon_is_served(static_from_sources):
    client = Client()
    response = client.get("/favicon.ico")

    assert response.status_code == 302
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert icon["Content-Type"].startswith("image/svg+xml")
    html = client.get("/atm/").content.decode()
    assert any(attrs.get("rel") == "icon" for tag, attrs in parse(html) if tag == "link")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/", "/api/v1"])
def test_the_api_root_answers_with_links_that_work(api_client, path):
    response = api_client.get(path)

    assert response.status_code == 200
    links = response.json()
    assert links["accounts"] == "http://testserver/api/v1/accounts"
    assert links["docs"] == "http://testserver/api/docs"
    for name, url in links.items():
        assert url.startswith("http://testserver/"), name
        # Public links answer; the others ask for a token (401), never 404.
        status = api_client.get(url.removeprefix("http://testserver")).status_code
        assert status in (200, 401, 405), (name, status)


def first_run(*args: str, port: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "atm_project.first_run", *args],
        cwd=BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "HOST": "127.0.0.1", "PORT": str(port)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_make_run_prints_where_to_go_and_the_demo_credentials():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free again once closed

    done = first_run(port=port)

    assert done.returncode == 0, done.stderr
    for expected in (
        f"http://127.0.0.1:{port}/atm/",
        f"http://127.0.0.1:{port}/api/docs/",
        f"http://127.0.0.1:{port}/admin/",
        "card 4000001234567899  PIN 2468",
        "demo / demo-pass-2468",
    ):
        assert expected in done.stdout


def test_make_run_refuses_a_port_that_is_taken():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        done = first_run("--check-port-only", port=port)

    assert done.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in done.stderr
    assert done.stdout == ""


def test_make_help_lists_the_targets():
    done = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    for target in ("run", "test", "lint", "format", "bench", "help"):
        assert f"make {target} " in done.stdout
