"""The answer API through the real app, on the real corpus and a real index."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from footnote.service.app import create_app

IPA_URL = "https://www.ipa.go.jp/publish/wp-dx/gmcbt8000000botk-att/000108043.pdf"
IBM_URL = (
    "https://www.rapidus.inc/en/news_topics/information/"
    "ibm-and-rapidus-form-strategic-partnership-to-build-advanced-semiconductor-technology-and-ecosystem-in-japan/"
)


@pytest.fixture(scope="module")
def client(corpus_index: Path) -> Iterator[TestClient]:
    with TestClient(create_app(index_dir=corpus_index)) as c:
        yield c


def ask(client: TestClient, question: str, **extra: object) -> dict:
    response = client.post("/answer", json={"question": question, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def assert_quotes_verbatim(client: TestClient, body: dict) -> None:
    for note in body["footnotes"]:
        doc = client.get(f"/documents/{note['doc_id']}").json()
        assert doc["text"][note["start"] : note["end"]] == note["quote"]


def test_quotes_the_dx_sentence_with_its_own_footnote(client: TestClient) -> None:
    body = ask(client, "Has digital transformation progressed in Japanese businesses?")
    assert body["grounded"] is True
    first = body["footnotes"][0]
    assert first["quote"].startswith("Digital transformation (DX) in businesses has not progressed sufficiently")
    assert first["doc_id"] == "cet-index-2025-japan-report"
    assert first["section"][-2:] == ["Artificial Intelligence", "Status Quo"]
    assert [c["marker"] for c in first["citations"]] == ["1"]
    assert first["citations"][0]["urls"] == [IPA_URL]
    assert "[1]" in body["answer"]
    assert_quotes_verbatim(client, body)


def test_rapidus_ibm_quote_carries_the_press_release(client: TestClient) -> None:
    body = ask(client, "Which company is Rapidus partnering with?")
    quotes = [n for n in body["footnotes"] if "IBM" in n["quote"]]
    assert quotes, body["answer"]
    urls = [u for c in quotes[0]["citations"] for u in c["urls"]]
    assert IBM_URL in urls
    assert_quotes_verbatim(client, body)


def test_every_quote_is_the_documents_own_text(client: TestClient) -> None:
    for question in ["What is Society 5.0?", "How does Japan rank in quantum technologies?",
                     "What is the Space Strategy Fund?", "Who chairs the CSTI?"]:
        body = ask(client, question)
        assert body["footnotes"], question
        assert_quotes_verbatim(client, body)
        for passage in body["passages"]:
            doc = client.get(f"/documents/{passage['doc_id']}").json()
            assert doc["text"][passage["start"] : passage["end"]] == passage["text"]


def test_out_of_scope_question_is_not_grounded(client: TestClient) -> None:
    body = ask(client, "What is the population of Osaka?")
    assert body["grounded"] is False
    assert body["footnotes"] == []
    assert body["answer"] == "Not found in the documents."


def test_follow_up_is_rewritten_from_history(client: TestClient) -> None:
    first = ask(client, "What is Rapidus?")
    assert any("Rapidus" in n["quote"] for n in first["footnotes"])
    history = [{"role": "user", "content": "What is Rapidus?"}, {"role": "assistant", "content": first["answer"]}]
    body = ask(client, "Who is it partnering with?", history=history)
    assert body["query"] == "Who is Rapidus partnering with?"
    assert any("IBM" in n["quote"] for n in body["footnotes"]), body["answer"]


def test_standalone_question_is_left_alone(client: TestClient) -> None:
    history = [{"role": "user", "content": "What is Rapidus?"}]
    body = ask(client, "What does KIOXIA produce?", history=history)
    assert body["query"] == "What does KIOXIA produce?"


def test_search_endpoint_in_every_mode(client: TestClient) -> None:
    for mode in ("hybrid", "dense", "bm25"):
        r = client.post("/search", json={"query": "KIOXIA NAND memory", "mode": mode, "k": 3})
        assert r.status_code == 200, r.text
        assert "KIOXIA continues to produce cutting-edge NAND memory" in r.json()["passages"][0]["text"], mode


def test_documents_and_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["ready"] is True and ready["documents"] == 2 and ready["passages"] > 10
    doc = client.get("/documents/technology-policy-of-japan").json()
    assert doc["title"] == "Technology Policy Of Japan"
    r = client.get("/documents/no-such-doc")
    assert r.status_code == 404
    assert r.json()["detail"] == "no document with id 'no-such-doc': GET /documents lists them"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"question": ""}, "question: String should have at least 1 character"),
        ({"question": "   \n"}, "question: the question is empty or only white space: ask something"),
        ({"question": "x" * 2001}, "question: String should have at most 2000 characters"),
        ({}, "question: is required"),
        ({"question": "Rapidus?", "history": "hello"}, "history: Input should be a valid list"),
        ({"question": "Rapidus?", "history": [{"role": "system", "content": "x"}]},
         "history.0.role: Input should be 'user' or 'assistant'"),
        ({"question": "Rapidus?", "history": [{"role": "user"}]}, "history.0.content: is required"),
        ({"question": "Rapidus?", "top_k": 0}, "top_k: Input should be greater than or equal to 1"),
        ({"question": "Rapidus?", "top_k": 51}, "top_k: Input should be less than or equal to 50"),
        ({"question": "Rapidus?", "topk": 3}, "topk: is not a known field"),
        ([1, 2], "body: must be a JSON object"),
    ],
)
def test_bad_input_gets_422_saying_what_to_fix(client: TestClient, payload: object, message: str) -> None:
    r = client.post("/answer", json=payload)
    assert r.status_code == 422
    assert r.json()["detail"] == message


def test_invalid_json_and_wrong_content_type(client: TestClient) -> None:
    # Not JSON at all is 400; valid JSON with invalid fields is 422 (the tests above).
    r = client.post("/answer", content=b'{"question": ', headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["detail"].startswith("the body is not valid JSON")
    r = client.post("/answer", content=b"question=hi", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    assert r.json()["detail"] == (
        "send the body as JSON with `Content-Type: application/json` (got application/x-www-form-urlencoded)"
    )


def test_request_limits_are_the_apps_settings(corpus_index: Path) -> None:
    from footnote.settings import Settings

    question = "What does the report say about Rapidus in 2027?"  # 47 characters
    settings = Settings(index_dir=corpus_index, max_question_chars=10, max_top_k=6)
    with TestClient(create_app(settings=settings)) as c:
        r = c.post("/answer", json={"question": question})
        assert r.status_code == 422
        assert r.json()["detail"] == "question: String should have at most 10 characters"
        r = c.post("/answer", json={"question": "Rapidus?", "top_k": 7})
        assert r.json()["detail"] == "top_k: Input should be less than or equal to 6"
        r = c.post("/search", json={"query": question, "k": 5})
        assert r.json()["detail"] == "query: String should have at most 10 characters"
        r = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": question}]})
        assert r.status_code == 400
        assert r.json()["error"]["message"] == "messages.0.content: String should have at most 10 characters"
        assert c.post("/answer", json={"question": "Rapidus?", "top_k": 6}).status_code == 200


def test_no_index_is_503_saying_to_ingest(tmp_path: Path) -> None:
    with TestClient(create_app(index_dir=tmp_path / "nothing")) as c:
        r = c.post("/answer", json={"question": "What is Rapidus?"})
        assert r.status_code == 503
        assert r.json()["detail"] == f"no index at {tmp_path / 'nothing'}: run `footnote ingest` to build one"
        assert c.get("/readyz").status_code == 503
        assert c.get("/healthz").status_code == 200


def test_api_key_guards_everything_but_health(corpus_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from footnote.settings import Settings

    with TestClient(create_app(index_dir=corpus_index, settings=Settings(api_key="s3cret"))) as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/readyz").status_code == 200
        r = c.post("/answer", json={"question": "What is Rapidus?"})
        assert r.status_code == 401
        assert "FOOTNOTE_API_KEY" in r.json()["detail"]
        wrong = {"Authorization": "Bearer nope"}
        assert c.get("/documents/technology-policy-of-japan", headers=wrong).status_code == 401
        ok = c.post("/answer", json={"question": "What is Rapidus?"}, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200


def test_openapi_documents_the_endpoints(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/answer", "/search", "/documents/{doc_id}", "/healthz", "/readyz"):
        assert path in spec["paths"], path
    assert "Answer" in spec["components"]["schemas"]
    assert "Footnote" in spec["components"]["schemas"]


def test_hot_swap_keeps_answering(tmp_path: Path) -> None:
    from footnote.index.build import update_index
    from tests.conftest import CORPUS

    folder = tmp_path / "docs"
    shutil.copytree(CORPUS, folder)
    index_dir = tmp_path / "index"
    update_index([folder], index_dir, chunk_tokens=160, overlap=0, echo=lambda line: None)
    with TestClient(create_app(index_dir=index_dir, poll_seconds=0.05)) as c:
        before = c.get("/readyz").json()["index_version"]
        statuses: list[int] = []
        stop = threading.Event()

        def hammer() -> None:
            while not stop.is_set():
                statuses.append(c.post("/answer", json={"question": "What is Rapidus?"}).status_code)

        worker = threading.Thread(target=hammer)
        worker.start()
        (folder / "lunar.txt").write_text(
            "Lunar Gateway Notes\n\nThe Footnote lunar rover named Kaguya-Tsuki mapped the south pole in 2031.\n",
            encoding="utf-8",
        )
        update_index([folder], index_dir, chunk_tokens=160, overlap=0, echo=lambda line: None)
        deadline = time.time() + 30
        while c.get("/readyz").json()["index_version"] == before and time.time() < deadline:
            time.sleep(0.05)
        stop.set()
        worker.join()
        assert c.get("/readyz").json()["index_version"] != before
        assert statuses and set(statuses) == {200}
        body = c.post("/answer", json={"question": "Which rover mapped the south pole?"}).json()
        assert body["grounded"] is True
        assert "Kaguya-Tsuki" in body["footnotes"][0]["quote"]
