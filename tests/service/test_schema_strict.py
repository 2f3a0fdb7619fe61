"""Schema = behaviour (issue 26): strict integers and booleans, one "not blank" rule in the schema and in the
check, and an ``Allow`` header that names every method of the path."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from footnote.service.app import create_app
from footnote.service.models import NOT_BLANK, not_blank
from footnote.settings import Settings
from tests.service.upload_helpers import small_index


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    index_dir = small_index(tmp_path_factory.mktemp("strict"))
    with TestClient(create_app(index_dir=index_dir, settings=Settings(index_dir=index_dir))) as c:
        yield c


@pytest.mark.parametrize(("path", "body", "field", "kind"), [
    ("/answer", {"question": "Who?", "top_k": True}, "top_k", "int_type"),
    ("/answer", {"question": "Who?", "top_k": "5"}, "top_k", "int_type"),
    ("/answer", {"question": "Who?", "top_k": 5.5}, "top_k", "int_from_float"),
    ("/search", {"query": "harbor", "k": True}, "k", "int_type"),
    ("/search", {"query": "harbor", "rerank": 1}, "rerank", "bool_type"),
    ("/search", {"query": "harbor", "rerank": "true"}, "rerank", "bool_type"),
])
def test_integers_and_booleans_are_strict(client: TestClient, path: str, body: dict[str, object], field: str,
                                          kind: str) -> None:
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    assert [(e["loc"], e["type"]) for e in r.json()["errors"]] == [(["body", field], kind)]


def test_an_integer_is_what_json_schema_calls_one(client: TestClient) -> None:
    r = client.post("/search", json={"query": "harbor", "k": 3.0})  # 3.0 is an integer to JSON Schema
    assert r.status_code == 200 and len(r.json()["passages"]) == 1


@pytest.mark.parametrize(("field", "value", "kind"), [
    ("top_logprobs", False, "int_type"), ("top_k", True, "int_type"), ("n", True, "int_type"),
    ("max_tokens", False, "int_type"), ("seed", "7", "int_type"), ("stream", 0, "bool_type"),
    ("logprobs", "false", "bool_type"), ("store", 1, "bool_type"),
])
def test_openai_integers_and_booleans_are_strict(client: TestClient, field: str, value: object, kind: str) -> None:
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "Who?"}], field: value})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == field
    assert f"{field}: Input should be a valid {'integer' if kind == 'int_type' else 'boolean'}" in \
        r.json()["error"]["message"]


@pytest.mark.parametrize("blank", ["\x85", "\u3000\x1c", "\ufeff", " \t\n\x0b\x0c\r", "\u2028\u00a0"])
def test_one_not_blank_rule_in_the_schema_and_the_check(client: TestClient, blank: str) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert schema["AnswerRequest"]["properties"]["question"]["pattern"] == NOT_BLANK
    assert schema["SearchRequest"]["properties"]["query"]["pattern"] == NOT_BLANK
    assert re.search(NOT_BLANK, blank) is None and not not_blank(blank)
    r = client.post("/answer", json={"question": blank})
    assert r.status_code == 422
    assert r.json()["detail"] == "question: the question is empty or only white space: ask something"
    r = client.post("/search", json={"query": blank})
    assert r.status_code == 422 and r.json()["detail"] == "query: the query is empty or only white space"
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": blank}]})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "messages: must contain a user message with the question"
    assert re.search(NOT_BLANK, blank + "x") and not_blank(blank + "x")


def test_405_names_every_method_of_the_path(client: TestClient) -> None:
    r = client.options("/documents")
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
    r = client.put("/documents/harbor")
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET"
    r = client.get("/answer")
    assert r.status_code == 405 and r.headers["allow"] == "POST"


def test_the_upload_limits_are_in_the_readme() -> None:
    from footnote.service.routes.uploads import MAX_FIELDS, MAX_FILES

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    assert f"at most {MAX_FILES} files and {MAX_FIELDS} other form fields per upload" in readme
