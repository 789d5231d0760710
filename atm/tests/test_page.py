"""The web ATM page as served: a static shell whose script and style are files, never inline."""

from html.parser import HTMLParser

import pytest
from django.test import Client

PLAIN_STATIC_STORAGE = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parse(html: str) -> list[tuple[str, dict]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


@pytest.fixture
def whitenoise_from_sources(settings):
    """Whitenoise serving the apps' static files without a collectstatic run."""
    settings.STORAGES = {**settings.STORAGES, "staticfiles": PLAIN_STATIC_STORAGE}
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.mark.parametrize("path", ["/atm/", "/atm"])
def test_the_page_answers_with_and_without_the_slash(whitenoise_from_sources, path):
    response = Client().get(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_the_idle_timeout_is_a_setting_rendered_for_the_script(whitenoise_from_sources, settings):
    settings.ATM_IDLE_TIMEOUT_SECONDS = 7

    html = Client().get("/atm/").content.decode()

    (main,) = [attrs for tag, attrs in parse(html) if tag == "main"]
    assert main["data-idle-timeout-seconds"] == "7"
    assert main["data-api-root"] == "/api/v1/"


def test_no_inline_script_or_style_so_a_strict_csp_holds(whitenoise_from_sources):
    html = Client().get("/atm/").content.decode()
    tags = parse(html)

    scripts = [attrs for tag, attrs in tags if tag == "script"]
    assert scripts and all(attrs.get("src") for attrs in scripts)
    assert not [tag for tag, _ in tags if tag == "style"]
    for tag, attrs in tags:
        assert "style" not in attrs, tag
        assert not [name for name in attrs if name.startswith("on")], tag
    # Everything comes from this origin: no CDN.
    for tag, attrs in tags:
        for name in ("src", "href"):
            assert not attrs.get(name, "/").startswith(("http:", "https:", "//")), (tag, attrs)


def test_the_script_and_stylesheet_are_served_by_whitenoise(whitenoise_from_sources):
    client = Client()
    tags = parse(client.get("/atm/").content.decode())
    assets = [attrs["src"] for tag, attrs in tags if tag == "script"] + [
        attrs["href"] for tag, attrs in tags if tag == "link" and attrs.get("rel") == "stylesheet"
    ]

    for url, content_type in zip(assets, ("javascript", "text/css"), strict=True):
        response = client.get(url)
        assert response.status_code == 200, url
        assert content_type in response["Content-Type"]


def test_the_controls_of_the_contract_are_on_the_page(whitenoise_from_sources):
    html = Client().get("/atm/").content.decode()

    for name in (
        ">Card number</label>",
        ">PIN</label>",
        ">Sign in</button>",
        ">Balance</button>",
        ">Withdraw</button>",
        ">Deposit</button>",
        ">Transfer</button>",
        ">Mini statement</button>",
        ">Sign out</button>",
        ">Other amount</label>",
        ">To account</label>",
        ">Amount</label>",
        'role="status"',
    ):
        assert name in html, name
    for amount in (20, 40, 60, 100, 200):
        assert f'data-amount="{amount}">{amount}</button>' in html
