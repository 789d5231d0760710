"""The one check of an RFC 9457 problem answer, for every test.

    from atm_project.testing.problems import assert_problem

    body = assert_problem(response, 400, "validation_error")
    assert "amount" in body["errors"]

It takes a Django test response or a live server's `HTTPResult` (atm_project/testing/live_server.py)
and checks everything every error of the API carries: the status, the problem content type, and a
body with that status and code, a type URI, a title, a detail and the request id of the response.
"""

import json

from atm_project.testing.ratelimit import WINDOW

PROBLEM_CONTENT_TYPE = "application/problem+json"


def _status_headers_and_body(response) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, body) of either kind of response."""
    if hasattr(response, "status_code"):  # Django's test client
        status, headers, content = response.status_code, response.headers, response.content
    else:  # a live server's HTTPResult
        status, headers, content = response.status, response.headers, response.body
    return status, {name.lower(): value for name, value in headers.items()}, content


def assert_problem(response, status: int, code: str) -> dict:
    """Assert `response` is the problem `status`/`code`; return its body for further checks."""
    actual_status, headers, content = _status_headers_and_body(response)
    assert actual_status == status, content
    assert headers["content-type"] == PROBLEM_CONTENT_TYPE, content
    body = json.loads(content)
    assert (body["status"], body["code"]) == (status, code), body
    assert body["type"].startswith("https://"), body
    assert body["title"] and body["detail"], body
    assert body["request_id"] == headers["x-request-id"], body
    return body


def assert_throttled(response, window: int = WINDOW) -> dict:
    """A 429 `throttled` problem that says, in Retry-After, when to come back (within the
    limit's window, in seconds)."""
    body = assert_problem(response, 429, "throttled")
    _, headers, _ = _status_headers_and_body(response)
    assert 1 <= int(headers["retry-after"]) <= window
    return body
