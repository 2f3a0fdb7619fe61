"""Hostile requests against a real server: bounded bodies, keys compared as bytes, checks in a documented order,
Host names checked against DNS rebinding, and docs that work offline."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import live_server

KEY = "s3cret-ключ"
LIMIT_MESSAGE = "the request body is over the limit of 1,048,576 bytes (FOOTNOTE_MAX_BODY_KB=1024)"
MISSING_KEY = "missing or wrong API key: send `Authorization: Bearer <FOOTNOTE_API_KEY>`"


@pytest.fixture(scope="module")
def server(corpus_index: Path) -> Iterator[str]:
    with live_server(corpus_index) as url:
        yield url


@pytest.fixture(scope="module")
def keyed(corpus_index: Path) -> Iterator[str]:
    with live_server(corpus_index, api_key=KEY) as url:
        yield url


def _raw(url: str, head: bytes, body: bytes = b"") -> tuple[int, dict]:
    """Send a request by hand (headers that clients refuse to send) and read the one response."""
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head + body)
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, json.loads(data.split(b"\r\n\r\n", 1)[1])


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 1 << 30


# -- body size -----------------------------------------------------------------------------------------------


def test_a_huge_body_is_refused_from_its_length_before_it_is_read(server: str) -> None:
    """50 MB announced, 10 bytes sent: the 413 comes back at once, without waiting for the rest."""
    port = server.rsplit(":", 1)[1]
    head = (f"POST /answer HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {50 * 1024 * 1024}\r\n\r\n").encode()
    status, body = _raw(server, head, b'{"question"')
    assert status == 413
    assert body == {"detail": LIMIT_MESSAGE}


def test_a_streamed_body_is_cut_off_at_the_limit(server: str) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"question": "'
        for _ in range(64):  # 4 MiB in all, no Content-Length (chunked)
            sent += 1
            yield b"a" * 65536

    try:
        r = httpx.post(f"{server}/answer", content=chunks(), headers={"Content-Type": "application/json"},
                       timeout=60)
    except httpx.TransportError:  # the server answered and closed while the client was still sending
        pytest.fail("the 413 response was not readable")
    assert r.status_code == 413
    assert r.json() == {"detail": LIMIT_MESSAGE}


def test_the_openai_endpoint_has_the_same_limit_in_its_error_shape(server: str) -> None:
    big = {"messages": [{"role": "user", "content": "x" * (1100 * 1024)}]}
    r = httpx.post(f"{server}/v1/chat/completions", json=big, timeout=60)
    assert r.status_code == 413
    assert r.json()["error"]["message"] == LIMIT_MESSAGE


# -- invalid bodies ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"question": ', "the body is not valid JSON (at character 13: Expecting value)"),
        (b'{"question": "\xff"}', "the body is not valid JSON: it is not UTF-8 (at byte 14)"),
        (b"[" * 100_000 + b"]" * 100_000, "the body is not valid JSON: it is nested too deeply"),
    ],
    ids=["truncated", "not-utf8", "too-deep"],
)
def test_a_body_that_is_not_json_is_400(server: str, body: bytes, message: str) -> None:
    r = httpx.post(f"{server}/answer", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["detail"] == message
    r = httpx.post(f"{server}/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == message


# -- order of checks -----------------------------------------------------------------------------------------


def test_an_unknown_method_is_405_before_the_content_type_is_checked(server: str) -> None:
    for path in ("/healthz", "/documents", "/answer"):
        r = httpx.put(f"{server}{path}", content=b"x", headers={"Content-Type": "text/plain"})
        assert r.status_code == 405, path


def test_a_missing_key_is_401_before_the_body_is_looked_at(keyed: str) -> None:
    cases = [
        {"content": b'{"question": ', "headers": {"Content-Type": "application/json"}},
        {"content": b"question=hi", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        {"content": b"{}", "headers": {"Content-Type": "application/json"}},
    ]
    for case in cases:
        r = httpx.post(f"{keyed}/answer", **case)  # type: ignore[arg-type]
        assert (r.status_code, r.json()) == (401, {"detail": MISSING_KEY}), case
    port = keyed.rsplit(":", 1)[1]
    head = (f"POST /answer HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {50 * 1024 * 1024}\r\n\r\n").encode()
    assert _raw(keyed, head) == (401, {"detail": MISSING_KEY})


# -- API key -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [b"Bearer \xc3\xa9t\xc3\xa9", b"Bearer \xff\xfe", b"Bearer s3cret-\xd0\xba",
                                   b"bearer", b"Basic czNjcmV0"])
def test_a_wrong_key_is_always_401(keyed: str, token: bytes) -> None:
    r = httpx.get(f"{keyed}/documents", headers={"Authorization": token})
    assert r.status_code == 401
    assert r.json() == {"detail": MISSING_KEY}
    r = httpx.get(f"{keyed}/v1/models", headers={"Authorization": token})
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "authentication_error"


def test_a_non_ascii_key_works_sent_as_utf8(keyed: str) -> None:
    r = httpx.get(f"{keyed}/documents", headers={"Authorization": b"Bearer " + KEY.encode()})
    assert r.status_code == 200
    assert "technology-policy-of-japan" in {d["doc_id"] for d in r.json()}


def test_the_docs_are_public_and_the_api_is_not(keyed: str) -> None:
    for path in ("/docs", "/redoc", "/openapi.json", "/", "/healthz"):
        assert httpx.get(f"{keyed}{path}").status_code == 200, path
    for path in ("/documents", "/documents/technology-policy-of-japan", "/v1/models"):
        assert httpx.get(f"{keyed}{path}").status_code == 401, path


# -- Host header (DNS rebinding) -----------------------------------------------------------------------------


def test_a_loopback_server_answers_only_to_loopback_names(server: str) -> None:
    port = server.rsplit(":", 1)[1]
    for host in ("localhost", f"localhost:{port}", f"127.0.0.1:{port}", "[::1]:8000"):
        assert httpx.get(f"{server}/documents", headers={"Host": host}).status_code == 200, host
    for host in ("rebind.attacker.example", f"rebind.attacker.example:{port}", "localhost.attacker.example"):
        r = httpx.get(f"{server}/documents", headers={"Host": host})
        assert r.status_code == 400, host
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        assert r.json() == {"detail": f"this server does not answer to the host {name!r}: add it to "
                                      "FOOTNOTE_ALLOWED_HOSTS (comma-separated names) to allow it"}


def test_allowed_hosts_are_the_only_names_served(corpus_index: Path) -> None:
    with live_server(corpus_index, allowed_hosts="footnote.example, *.corp.example") as url:
        ok = ("footnote.example", "FOOTNOTE.example:443", "docs.corp.example")
        for host in ok:
            assert httpx.get(f"{url}/healthz", headers={"Host": host}).status_code == 200, host
        for host in ("localhost", "corp.example.evil", "evil.example"):
            assert httpx.get(f"{url}/healthz", headers={"Host": host}).status_code == 400, host


# -- docs offline --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_nothing_from_elsewhere(server: str, page: str) -> None:
    import re

    html = httpx.get(f"{server}{page}").text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(u.endswith(".js") for u in urls)
    for url in urls:
        r = httpx.get(f"{server}{url}")
        assert r.status_code == 200, url
        assert len(r.content) > 1000 or url.endswith(".svg"), url


# -- history and message limits ------------------------------------------------------------------------------


def test_history_over_a_limit_is_422_naming_it(server: str) -> None:
    cases = [
        ([{"role": "user", "content": "x" * 20_001}],
         "history.0.content: is 20,001 characters, over the limit of 20,000 (FOOTNOTE_MAX_TURN_CHARS)"),
        ([{"role": "user", "content": "x" * 20_000}] * 6,
         "history: is 120,000 characters in all, over the limit of 100,000 (FOOTNOTE_MAX_HISTORY_CHARS)"),
        ([{"role": "user", "content": "hi"}] * 51,
         "history: has 51 turns, over the limit of 50 (FOOTNOTE_MAX_HISTORY_TURNS)"),
    ]
    for history, message in cases:
        r = httpx.post(f"{server}/answer", json={"question": "What is Rapidus?", "history": history}, timeout=60)
        assert r.status_code == 422
        assert r.json()["detail"] == message


def test_chat_messages_are_capped_and_long_conversations_trimmed(server: str) -> None:
    system = {"role": "system", "content": "y" * 20_001}
    r = httpx.post(f"{server}/v1/chat/completions", timeout=60,
                   json={"messages": [system, {"role": "user", "content": "What is Rapidus?"}]})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == (
        "messages.0.content: is 20,001 characters, over the limit of 20,000 (FOOTNOTE_MAX_TURN_CHARS)")
    # A long conversation keeps its latest turns: chat clients send all of it every time.
    chat = [{"role": "user", "content": "What is Rapidus?"}, {"role": "assistant", "content": "A chip maker."}] * 40
    r = httpx.post(f"{server}/v1/chat/completions", timeout=60,
                   json={"messages": [*chat, {"role": "user", "content": "Who is it partnering with?"}]})
    assert r.status_code == 200
    assert r.json()["query"] == "Who is Rapidus partnering with?"


@pytest.mark.parametrize(("field", "value"), [("model", "m" * 257), ("user", "u" * 257), ("stop", ["s"] * 5)])
def test_every_short_field_has_a_limit(server: str, field: str, value: object) -> None:
    body = {"messages": [{"role": "user", "content": "What is Rapidus?"}], field: value}
    r = httpx.post(f"{server}/v1/chat/completions", json=body, timeout=60)
    assert r.status_code == 400
    assert r.json()["error"]["param"].startswith(field)


def test_without_a_key_the_schema_names_no_security(server: str, keyed: str) -> None:
    open_spec = httpx.get(f"{server}/openapi.json").json()
    assert "securitySchemes" not in open_spec.get("components", {})
    assert all("security" not in op and "401" not in op["responses"]
               for ops in open_spec["paths"].values() for op in ops.values())
    keyed_spec = httpx.get(f"{keyed}/openapi.json").json()
    assert keyed_spec["paths"]["/answer"]["post"]["security"] == [{"HTTPBearer": []}]
    assert "401" in keyed_spec["paths"]["/answer"]["post"]["responses"]
