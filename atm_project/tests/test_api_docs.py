"""/api/schema/ is a valid OpenAPI document covering the core; /api/docs/ is a self-hosted UI."""

import re

import pytest
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

CORE_OPERATIONS = [
    ("post", "/api/v1/auth/register/"),
    ("post", "/api/v1/auth/token/"),
    ("post", "/api/v1/auth/token/refresh/"),
    ("post", "/api/v1/auth/logout/"),
    ("get", "/api/v1/users/me/"),
    ("patch", "/api/v1/users/me/"),
    ("get", "/api/v1/accounts/"),
    ("post", "/api/v1/accounts/"),
    ("get", "/api/v1/accounts/{number}/"),
    ("get", "/api/v1/accounts/{number}/balance/"),
    ("post", "/api/v1/accounts/{number}/deposit/"),
    ("post", "/api/v1/accounts/{number}/withdraw/"),
    ("get", "/api/v1/accounts/{number}/transactions/"),
    ("post", "/api/v1/transfers/"),
    ("get", "/api/v1/transactions/"),
    ("get", "/api/v1/transactions/{id}/"),
]


@pytest.fixture
def schema(api_client) -> dict:
    response = api_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_a_valid_openapi_3_document(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)  # raises on any violation of the OpenAPI JSON schema


def test_the_schema_is_served_without_authentication_as_json_and_yaml(api_client):
    default = api_client.get("/api/schema")
    assert default.status_code == 200
    assert default.json()["openapi"].startswith("3.")
    yaml = api_client.get("/api/schema", {"format": "yaml"})
    assert yaml.status_code == 200
    assert yaml.content.startswith(b"openapi:")


@pytest.mark.parametrize(("method", "path"), CORE_OPERATIONS)
def test_every_core_operation_documents_its_problems(schema, method, path):
    operation = schema["paths"][path][method]
    responses = operation["responses"]
    assert any(status.startswith("2") for status in responses)
    problems = [status for status in responses if status.startswith(("4", "5"))]
    assert problems
    for status in problems:
        content = responses[status]["content"]
        assert set(content) == {"application/problem+json"}
        assert content["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
    assert all("X-Request-ID" in response["headers"] for response in responses.values())


@pytest.mark.parametrize(
    ("path", "codes"),
    [
        ("/api/v1/accounts/{number}/withdraw/", {"409", "422"}),
        ("/api/v1/accounts/{number}/deposit/", {"409"}),
        ("/api/v1/transfers/", {"409", "422"}),
    ],
)
def test_money_operations_document_their_domain_errors_and_idempotency_key(schema, path, codes):
    operation = schema["paths"][path]["post"]
    assert codes <= set(operation["responses"])
    headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
    assert "Idempotency-Key" in headers


def test_bearer_jwt_is_the_documented_security_scheme(schema):
    assert schema["components"]["securitySchemes"]["jwtAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert {"jwtAuth": []} in schema["paths"]["/api/v1/accounts/"]["get"]["security"]


def test_the_problem_schema_matches_rfc_9457_bodies(schema):
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code", "request_id"}
    assert "errors" in problem["properties"]


def test_the_docs_page_loads_swagger_ui_from_our_own_static_files(api_client):
    response = api_client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(asset.endswith(".js") for asset in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
    # No third-party host anywhere: no CDN, no absolute URL to fetch code from.
    assert not re.search(r"(?:src|href)=[\"']?(?:https?:)?//", html)
    assert "cdn" not in html.lower()
