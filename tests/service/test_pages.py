"""Footnotes that open the page: pages, boxes and anchors in every answer; the original file; page renders
with the quote highlighted; their bounds, cache and key rules."""

from __future__ import annotations

import io
import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from footnote.index.build import update_index
from footnote.index.pages import Box, PageMap
from footnote.service import render
from footnote.service.app import create_app
from footnote.service.models import Footnote
from footnote.service.render import PageOutOfRange, RenderBusy, Renderer, RenderTimeout
from footnote.service.where import anchor_of, anchor_slug, locate
from footnote.settings import Settings
from tests.service.pdf_helpers import HEIGHT, MARKDOWN, QUESTION, SENTENCE, WIDTH, make_survey_pdf, page_corpus
from tests.service.upload_helpers import small_corpus, wait_job

# -- unit: the slug, locating a span with a page map made by hand ----------------------------------------

def test_anchor_slug_is_lower_case_with_dashes() -> None:
    assert anchor_slug("2.1 Front-end (FEOL)") == "2-1-front-end-feol"
    assert anchor_slug("  Économie & Société ") == "économie-société"
    assert anchor_slug("Snake_case  words") == "snake-case-words"
    assert anchor_slug("***") is None
    assert anchor_of(("Report", "Findings")) == "findings"
    assert anchor_of(()) is None


HAND_MAP = PageMap({"pages": 2, "sizes": [[612, 792], [612, 792]], "words": [
    [0, 5, 1, 72, 72, 100, 84],      # "Hello" on page 1, line 1
    [6, 11, 1, 104, 72, 130, 84],    # "world" same line: merged into one box
    [12, 16, 1, 72, 90, 96, 102],    # next line
    [17, 21, 2, 72, 72, 98, 84],     # page 2
]})


def test_locate_gives_pages_boxes_and_anchor() -> None:
    where = locate(HAND_MAP, ("Intro",), 0, 21)
    assert where.page == 1 and where.pages == [1, 2] and where.anchor == "intro"
    assert [(b.page, b.x0, b.y0, b.x1, b.y1) for b in where.boxes] == [
        (1, 72, 72, 130, 84), (1, 72, 90, 96, 102), (2, 72, 72, 98, 84)]
    assert locate(HAND_MAP, (), 17, 21).pages == [2]
    assert locate(None, ("Notes",), 0, 5) == locate(None, ["Notes"], 0, 5)
    assert locate(None, ("Notes",), 0, 5).page is None and locate(None, ("Notes",), 0, 5).boxes == []


def test_the_text_form_names_the_page() -> None:
    note = Footnote(n=1, quote="q", doc_id="d", title="Title", section=["Section"], passage_id="p", start=0, end=1,
                    citations=[], page=7, pages=[7])
    assert note.where() == "Title › Section, p. 7"
    assert note.model_copy(update={"pages": [7, 8]}).where() == "Title › Section, pp. 7–8"
    assert note.model_copy(update={"page": None, "pages": []}).where() == "Title › Section"


# -- unit: the renderer's bounds ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pdf_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return make_survey_pdf(tmp_path_factory.mktemp("pdf") / "survey.pdf").read_bytes()


def test_render_size_is_capped(pdf_bytes: bytes) -> None:
    out = render.draw(pdf_bytes, 1, [])
    assert (out.width, out.height, out.page_count, out.highlight) == (2 * WIDTH, 2 * HEIGHT, 4, None)
    assert render.scale_for(14400, 14400) * 14400 <= render.MAX_SIDE_PX  # a huge page: the pixel cap holds
    with pytest.raises(PageOutOfRange, match="page 9 is out of range: the document has 4 pages"):
        render.draw(pdf_bytes, 9, [])


def test_renders_are_cached_bounded_and_forgotten(pdf_bytes: bytes) -> None:
    renderer = Renderer(cache_bytes=10**9)
    first = renderer.render("sha", pdf_bytes, 1, [])
    assert renderer.render("sha", pdf_bytes, 1, []) is first  # the cache
    box = Box(2, 72, 72, 200, 90)
    assert renderer.render("sha", pdf_bytes, 2, [box]).highlight is not None
    assert renderer.cache_size()[0] == 2
    assert renderer.forget("sha") == 2 and renderer.cache_size() == (0, 0)
    small = Renderer(cache_bytes=len(first.png) + 10)
    small.render("a", pdf_bytes, 1, [])
    small.render("b", pdf_bytes, 1, [])
    assert small.cache_size()[0] == 1 and small.cached("b", 1, []) is not None  # the older one went
    renderer.close()
    small.close()


def test_busy_and_slow_renders_are_refused(pdf_bytes: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    real = render.draw

    def slow(raw: bytes, page: int, boxes: list[Box]) -> render.Rendered:
        release.wait(10)
        return real(raw, page, boxes)

    monkeypatch.setattr(render, "draw", slow)
    renderer = Renderer(workers=1, waiting=0, seconds=0.3, slot_seconds=0.1)
    with pytest.raises(RenderTimeout, match="longer than 0.3 s"):
        renderer.render("x", pdf_bytes, 1, [])  # still running: it holds the one slot
    with pytest.raises(RenderBusy, match="too many page renders"):
        renderer.render("x", pdf_bytes, 2, [])
    release.set()
    time.sleep(0.5)  # the slow render finishes and frees its slot
    monkeypatch.setattr(render, "draw", real)
    assert renderer.render("x", pdf_bytes, 2, []).page_count == 4
    renderer.close()


# -- the routes, over a real index of a PDF, a text file and a Markdown file ---------------------------------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return page_corpus(tmp_path_factory.mktemp("pages"))


@pytest.fixture(scope="module")
def client(corpus: Path) -> Iterator[TestClient]:
    index_dir = corpus / "index"
    with TestClient(create_app(index_dir=index_dir, settings=Settings(index_dir=index_dir))) as c:
        yield c


def quarry_note(client: TestClient) -> dict:
    body = client.post("/answer", json={"question": QUESTION}).json()
    assert body["grounded"], body
    note = body["footnotes"][0]
    assert note["quote"] == SENTENCE
    return note


def test_answer_footnotes_say_page_boxes_and_anchor(client: TestClient) -> None:
    note = quarry_note(client)
    assert (note["page"], note["pages"], note["anchor"]) == (3, [3], "the-quarry")
    assert note["boxes"] and all(b["page"] == 3 for b in note["boxes"])
    for b in note["boxes"]:
        assert 0 <= b["x0"] < b["x1"] <= WIDTH and 0 <= b["y0"] < b["y1"] <= HEIGHT
    # The boxes hold the quote: the text PyMuPDF finds inside them is the sentence, whitespace aside.
    import pymupdf

    doc = client.get("/documents/survey/file").content
    page = pymupdf.open(stream=doc, filetype="pdf")[2]
    inside = " ".join(page.get_textbox(pymupdf.Rect(b["x0"], b["y0"], b["x1"], b["y1"])) for b in note["boxes"])
    assert " ".join(inside.split()) == SENTENCE


def test_other_formats_get_an_anchor_and_no_page(client: TestClient) -> None:
    body = client.post("/answer", json={"question": "Where does the kestrel nest?"}).json()
    note = body["footnotes"][0]
    assert note["doc_id"] == "kestrel"
    assert (note["page"], note["pages"], note["boxes"], note["anchor"]) == (None, [], [], "nesting-habits")


def test_search_passages_say_their_pages(client: TestClient) -> None:
    passages = client.post("/search", json={"query": "Vellicott quarry blue slate", "k": 3}).json()["passages"]
    top = passages[0]
    assert (top["doc_id"], top["page"], top["pages"], top["anchor"]) == ("survey", 3, [3], "the-quarry")
    assert "boxes" not in top  # a passage's boxes: draw them with ?passage=


def test_openai_footnotes_and_stream_say_the_page(client: TestClient) -> None:
    body = {"messages": [{"role": "user", "content": QUESTION}]}
    reply = client.post("/v1/chat/completions", json=body).json()
    assert reply["footnotes"][0]["page"] == 3 and reply["footnotes"][0]["boxes"]
    assert "— The Marrowdale Survey › The Quarry, p. 3" in reply["choices"][0]["message"]["content"]
    with client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as r:
        chunks = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: {")]
    final = next(c for c in chunks if c.get("footnotes"))
    assert final["footnotes"][0]["page"] == 3 and final["footnotes"][0]["anchor"] == "the-quarry"


def test_the_markdown_form_reads_title_section_page(corpus: Path) -> None:
    from footnote.index.load import load
    from footnote.service.answering.answerer import Answerer
    from footnote.service.models import AnswerRequest

    answer = Answerer(load(corpus / "index")).answer(AnswerRequest(question=QUESTION))
    assert "[1] The Marrowdale Survey › The Quarry, p. 3 (chars" in answer.to_markdown()


def test_file_is_the_original_bytes(client: TestClient, corpus: Path) -> None:
    r = client.get("/documents/survey/file")
    assert r.status_code == 200 and r.content == (corpus / "corpus" / "survey.pdf").read_bytes()
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith('inline; filename="survey.pdf"')
    assert "content-security-policy" not in r.headers  # a sandbox would keep Chromium from showing it
    md = client.get("/documents/kestrel/file")
    assert md.text == MARKDOWN and md.headers["content-type"] == "text/markdown; charset=utf-8"
    assert "sandbox" in md.headers["content-security-policy"]  # an uploaded page runs nothing on this origin
    assert client.get("/documents/nope/file").status_code == 404


def test_a_changed_file_is_refused_with_409(client: TestClient, corpus: Path) -> None:
    path = corpus / "corpus" / "kestrel.md"
    saved = path.read_bytes()
    try:
        path.write_bytes(saved + b"\nA new line.\n")
        r = client.get("/documents/kestrel/file")
        assert r.status_code == 409
        assert r.json()["detail"] == "kestrel.md: the file changed on disk since it was indexed; run footnote ingest"
        path.unlink()
        assert client.get("/documents/kestrel/file").status_code == 409
    finally:
        path.write_bytes(saved)
    assert client.get("/documents/kestrel/file").status_code == 200


def test_a_changed_pdf_is_not_rendered(client: TestClient, corpus: Path) -> None:
    path = corpus / "corpus" / "survey.pdf"
    saved = path.read_bytes()
    try:
        path.write_bytes(saved.replace(b"Marrowdale", b"Marrowdalf", 1) + b"\n")
        r = client.get("/documents/survey/pages/4.png")
        assert r.status_code == 409 and "changed on disk" in r.json()["detail"]
    finally:
        path.write_bytes(saved)


def pixels(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")


def test_page_render_highlights_the_quote(client: TestClient) -> None:
    note = quarry_note(client)
    r = client.get("/documents/survey/pages/3.png", params={"start": note["start"], "end": note["end"]})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.headers["x-page-count"] == "4"
    image = pixels(r.content)
    assert image.size == (2 * WIDTH, 2 * HEIGHT)
    x0, y0, x1, y1 = map(int, r.headers["x-highlight"].split(","))
    box = note["boxes"][0]
    assert (x0, y0) == (int(box["x0"] * 2), int(box["y0"] * 2))
    # Inside the box the paper is yellow (red and green high, blue low); outside it stays white.
    inside = [image.getpixel((x, y)) for x in range(x0 + 2, x1 - 2, 7) for y in range(y0 + 2, y1 - 2, 3)]
    yellow = [p for p in inside if p[0] > 220 and p[1] > 180 and p[2] < 190]
    assert len(yellow) > 0.5 * len(inside), inside[:20]
    assert image.getpixel((20, 20)) == (255, 255, 255)
    assert image.getpixel((x0 + 5, y1 + 40)) in ((255, 255, 255),) or image.getpixel((x0 + 5, y1 + 40))[2] > 150
    plain = pixels(client.get("/documents/survey/pages/3.png").content)
    assert plain.getpixel(((x0 + x1) // 2, y0 + 2)) == (255, 255, 255)  # no span, no highlight
    # ?passage= highlights the whole passage: its boxes' union holds the quote's.
    by_passage = client.get("/documents/survey/pages/3.png", params={"passage": note["passage_id"]})
    px0, py0, px1, py1 = map(int, by_passage.headers["x-highlight"].split(","))
    assert px0 <= x0 and py0 <= y0 and px1 >= x1 and py1 >= y1


def test_page_render_errors(client: TestClient) -> None:
    for path, status, words in [
        ("/documents/survey/pages/0.png", 404, "page 0 is out of range: the document has 4 pages"),
        ("/documents/survey/pages/5.png", 404, "page 5 is out of range"),
        ("/documents/harbor/pages/1.png", 404, "not a PDF"),
        ("/documents/nope/pages/1.png", 404, "no document with id 'nope'"),
        ("/documents/survey/pages/1.png?start=5", 422, "give both `start` and `end`"),
        ("/documents/survey/pages/1.png?start=5&end=999999", 422, "0 <= start < end"),
        ("/documents/survey/pages/1.png?passage=harbor-0000", 404, "is not in document 'survey'"),
        ("/documents/survey/pages/1.png?passage=survey-0000&start=1&end=2", 422, "not both"),
    ]:
        r = client.get(path)
        assert r.status_code == status, (path, r.text)
        assert words in r.json()["detail"], (path, r.text)
    assert client.get("/documents/survey/pages/x.png").status_code == 422


def test_file_and_pages_need_the_key(corpus: Path) -> None:
    index_dir = corpus / "index"
    app = create_app(index_dir=index_dir, settings=Settings(index_dir=index_dir, api_key="s3cret"))
    with TestClient(app) as c:
        for path in ("/documents/survey/file", "/documents/survey/pages/1.png"):
            assert c.get(path).status_code == 401
            assert c.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
            assert c.get(path, headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_deleting_an_upload_drops_its_original_and_renders(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    update_index([small_corpus(tmp_path / "corpus")], index_dir, echo=lambda line: None)
    pdf = make_survey_pdf(tmp_path / "survey.pdf").read_bytes()
    with TestClient(create_app(index_dir=index_dir, settings=Settings(index_dir=index_dir))) as c:
        job = wait_job(c, c.post("/documents", files=[("files", ("survey.pdf", pdf))]).json()["id"])
        assert job["state"] == "done", job
        stored = index_dir.parent / "index.uploads" / "survey.pdf"
        assert c.get("/documents/survey/file").content == pdf == stored.read_bytes()
        assert c.get("/documents/survey/pages/2.png").status_code == 200
        renderer: Renderer = c.app.state.renderer  # type: ignore[attr-defined]
        assert renderer.cache_size()[0] == 1
        job = wait_job(c, c.delete("/documents/survey").json()["id"])
        assert job["state"] == "done", job
        assert renderer.cache_size() == (0, 0)
        assert not stored.exists()
        assert c.get("/documents/survey/pages/2.png").status_code == 404
    shutil.rmtree(tmp_path, ignore_errors=True)
