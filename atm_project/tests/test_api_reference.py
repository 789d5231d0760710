"""docs/api.md describes the whole API: checked both ways against the OpenAPI schema and the code.

The reference is written for people, but its endpoint tables (columns `method` and `path`) and its
error table (columns `status`, `code`, `title`) are read here: every operation and every problem
code of the schema must be in them, and everything in them must exist in the schema and the code.
"""

import ast
import re
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator

from atm_project.exception_handlers import _DRF_PROBLEMS
from atm_project.problems import DomainError
from atm_project.schema import _CODE_IN_TEXT, PROBLEM_CODES_EXTENSION, PROBLEMS

REPOSITORY = Path(settings.BASE_DIR)
REFERENCE = REPOSITORY / "docs/api.md"
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_CODE_SPAN = re.compile(r"`([^`]+)`")


def markdown_tables(text: str) -> list[list[dict[str, str]]]:
    """Each table as a list of rows, a row mapping its header's cells to its own."""
    tables, block = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append([cell.strip() for cell in _UNESCAPED_PIPE.split(line.strip())[1:-1]])
            continue
        if len(block) > 2:
            header, rows = [cell.lower() for cell in block[0]], block[2:]
            tables.append([dict(zip(header, row, strict=True)) for row in rows])
        block = []
    return tables


def tables_with_columns(text: str, *columns: str) -> list[list[dict[str, str]]]:
    return [table for table in markdown_tables(text) if set(columns) <= set(table[0])]


def code_span(cell: str) -> str:
    """The cell's one `code span`: a table cell read by a test holds exactly that."""
    match = _CODE_SPAN.fullmatch(cell)
    assert match, f"expected one `code span` in the cell {cell!r}"
    return match.group(1)


def documented_operations(text: str) -> set[tuple[str, str]]:
    return {
        (row["method"].lower(), code_span(row["path"]))
        for table in tables_with_columns(text, "method", "path")
        for row in table
    }


def documented_problems(text: str) -> dict[str, tuple[int, str]]:
    """code -> (status, title) from the error table."""
    (table,) = tables_with_columns(text, "status", "code", "title")
    problems = {}
    for row in table:
        code = code_span(row["code"])
        assert code not in problems, f"{code} is in the error table twice"
        problems[code] = (int(row["status"]), row["title"])
    return problems


def schema_operations(schema: dict) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in schema["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def schema_error_responses(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    yield f"{method.upper()} {path} {status}", int(status), response


def _tracked_text_files():
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPOSITORY,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listing.split("\0")):
        path = REPOSITORY / name
        if not path.is_file():
            continue
        try:
            yield name, path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # an image or other binary file


def _literal_problems_in_source() -> set[tuple[int, str, str]]:
    """(status, code, title) of every problem built from literals, e.g. by middleware or
    a plain view: calls with constant `status_code=`, `code=` and `title=` keywords."""
    found = set()
    for name, text in _tracked_text_files():
        if not name.endswith(".py") or {"tests", "migrations"} & set(Path(name).parts):
            continue
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.Call):
                continue
            keywords = {
                keyword.arg: keyword.value.value
                for keyword in node.keywords
                if isinstance(keyword.value, ast.Constant)
            }
            if {"status_code", "code", "title"} <= set(keywords):
                found.add((keywords["status_code"], keywords["code"], keywords["title"]))
    return found


def _domain_error_classes(base: type[DomainError] = DomainError):
    for subclass in base.__subclasses__():
        yield subclass
        yield from _domain_error_classes(subclass)


def problems_in_the_code() -> dict[str, set[tuple[int, str]]]:
    """code -> every (status, title) the code answers it with."""
    problems: dict[str, set[tuple[int, str]]] = {}
    for error in _domain_error_classes():
        problems.setdefault(error.code, set()).add((error.status, error.title))
    for exception_class, code, title in _DRF_PROBLEMS:
        problems.setdefault(code, set()).add((exception_class.status_code, title))
    for status, code, title in _literal_problems_in_source():
        problems.setdefault(code, set()).add((status, title))
    return problems


@pytest.fixture(scope="module")
def reference() -> str:
    return REFERENCE.read_text()


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_operation_of_the_schema_is_in_the_reference(schema, reference):
    missing = schema_operations(schema) - documented_operations(reference)
    assert not missing, f"describe these operations in docs/api.md: {sorted(missing)}"


def test_every_operation_in_the_reference_is_in_the_schema(schema, reference):
    unknown = documented_operations(reference) - schema_operations(schema)
    assert not unknown, f"docs/api.md describes operations the API lacks: {sorted(unknown)}"


def test_every_error_response_of_the_schema_names_its_problem_codes(schema):
    for where, _, response in schema_error_responses(schema):
        assert response[PROBLEM_CODES_EXTENSION], f"{where}: its description names no known code"


def test_every_problem_code_of_the_schema_is_in_the_error_table_with_its_status(schema, reference):
    documented = documented_problems(reference)
    for where, status, response in schema_error_responses(schema):
        for code in response[PROBLEM_CODES_EXTENSION]:
            assert code in documented, f"{where}: add `{code}` to docs/api.md's error table"
            assert documented[code][0] == status, f"{where}: `{code}` is {status} in the schema"


def test_every_code_of_the_error_table_is_answered_by_the_api(schema, reference):
    """Each code is listed by an operation, or (those any route may answer: 405, 406, 500) named
    with its status in the schema's description."""
    description = schema["info"]["description"]
    answered = {
        code
        for _, _, response in schema_error_responses(schema)
        for code in response[PROBLEM_CODES_EXTENSION]
    } | {
        code
        for code, (status, _) in documented_problems(reference).items()
        if f"{status} `{code}`" in description
    }
    unanswered = set(documented_problems(reference)) - answered
    assert not unanswered, f"no operation of the schema answers {sorted(unanswered)}"


def test_every_code_of_the_error_table_exists_in_the_code_with_its_status_and_title(reference):
    in_code = problems_in_the_code()
    for code, (status, title) in documented_problems(reference).items():
        assert code in in_code, f"`{code}` is in docs/api.md but no code answers it"
        assert (status, title) in in_code[code], f"`{code}` is answered as {in_code[code]}"


def test_the_schema_knows_only_codes_that_exist_in_the_code():
    in_code = problems_in_the_code()
    for code, doc in PROBLEMS.items():
        assert code in in_code, f"the schema documents `{code}`, which no code answers"
        assert (doc.status, doc.title) in in_code[code], f"`{code}` is answered as {in_code[code]}"


def test_codes_are_read_from_a_description_as_whole_words_not_field_names():
    description = "validation_error (errors.not_found_at) or not_found; throttled"
    assert _CODE_IN_TEXT.findall(description) == ["validation_error", "not_found", "throttled"]
    assert _CODE_IN_TEXT.findall("a bad new_password (errors.new_password)") == []


def test_the_readers_of_the_reference_fail_on_a_missing_row():
    """A sample reference with one path and one code left out is caught by the comparisons."""
    text = (
        "| method | path | success |\n|---|---|---|\n| GET | `/healthz` | 200 |\n\n"
        "| status | code | title | when |\n|---|---|---|---|\n"
        "| 404 | `not_found` | Not found | |\n"
    )
    assert documented_operations(text) == {("get", "/healthz")}
    assert documented_problems(text) == {"not_found": (404, "Not found")}
    schema = {
        "paths": {
            "/healthz": {"get": {"responses": {}}},
            "/api/v1/accounts/": {"get": {"responses": {}}},
        }
    }
    assert schema_operations(schema) - documented_operations(text) == {("get", "/api/v1/accounts/")}


def test_the_readme_links_the_reference():
    readme = (REPOSITORY / "README.md").read_text()
    assert "](docs/api.md)" in readme


# The repository stands alone: nothing in it points at the contract file or the folder that held
# it outside the repository. The one name allowed is this repository's own docs/api.md (written
# `](api.md)` in a link from a page beside it in docs/). ("\/" is "/", written so that this line
# does not match itself.)
_OUTSIDE_REFERENCE = re.compile(r"\.\./shared|shared\/|(?<!docs\/)(?<!\]\()(?i:api\.md)")


def test_no_file_in_the_repository_refers_to_files_outside_it():
    offenders = [
        f"{name}:{number}: {line.strip()}"
        for name, text in _tracked_text_files()
        for number, line in enumerate(text.splitlines(), start=1)
        if _OUTSIDE_REFERENCE.search(line)
    ]
    assert not offenders, "refer to docs/api.md or the README instead:\n" + "\n".join(offenders)
