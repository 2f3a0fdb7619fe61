""""Show on page" in a real headless Chromium: a generated four-page PDF whose answer stands on page 3; the
footnote says "p. 3", the page opens rendered by the server with the quote highlighted and framed, and the
frame holds the quote. Other formats open the document text at the heading's anchor."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.service.conftest import live_server
from tests.service.pdf_helpers import QUESTION, SENTENCE, TITLE, WIDTH, page_corpus
from tests.service.test_chat_page import ARTIFACTS, ask, browser, page  # noqa: F401 - fixtures

# The share of pixels inside the frame that are the highlight's yellow (paper, not ink), in the page's canvas.
YELLOW_SHARE = """(img) => {
  const mark = document.getElementById("page-mark").getBoundingClientRect();
  const box = img.getBoundingClientRect();
  const k = img.naturalWidth / box.width;
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const g = canvas.getContext("2d");
  g.drawImage(img, 0, 0);
  const x = Math.round((mark.left - box.left) * k) + 4, y = Math.round((mark.top - box.top) * k) + 4;
  const w = Math.round(mark.width * k) - 8, h = Math.round(mark.height * k) - 8;
  const data = g.getImageData(x, y, w, h).data;
  let yellow = 0, all = 0;
  for (let i = 0; i < data.length; i += 4 * 7) {
    all++;
    if (data[i] > 220 && data[i + 1] > 180 && data[i + 2] < 190) yellow++;
  }
  return yellow / all;
}"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return page_corpus(tmp_path_factory.mktemp("page-view"))


@pytest.fixture(scope="module")
def server(corpus: Path) -> Iterator[str]:
    with live_server(corpus / "index") as url:
        yield url


def stored_note(tab: Page) -> dict[str, Any]:
    """The first footnote of the last answer, as the page keeps it."""
    note: dict[str, Any] = tab.evaluate(
        "() => JSON.parse(localStorage.getItem('footnote.conversation.v1')).at(-1).answer.footnotes[0]")
    return note


def frame_in_points(tab: Page) -> tuple[float, float, float, float]:
    """The highlight's frame on screen, in PDF points (the image is the page at its width)."""
    box = tab.locator("#page-image").bounding_box()
    mark = tab.locator("#page-mark").bounding_box()
    assert box is not None and mark is not None
    k = WIDTH / box["width"]
    return ((mark["x"] - box["x"]) * k, (mark["y"] - box["y"]) * k,
            (mark["x"] + mark["width"] - box["x"]) * k, (mark["y"] + mark["height"] - box["y"]) * k)


def open_quarry_page(tab: Page) -> dict[str, Any]:
    turn = ask(tab, QUESTION)
    expect(turn.locator(".quote").first).to_contain_text(SENTENCE)
    expect(turn.locator(".sources")).to_contain_text(f"{TITLE} › The Quarry, p. 3")
    turn.get_by_role("link", name="footnote 1").click()
    panel = tab.locator("#panel")
    expect(panel.locator(".where")).to_contain_text("p. 3")
    panel.get_by_role("button", name="Show on page").click()
    dialog = tab.locator("#page-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#page-number")).to_have_text("Page 3 of 4")
    expect(dialog.locator("#page-image")).to_have_attribute("data-page", "3")
    expect(dialog.locator("#page-image")).to_have_attribute("alt", re.compile("^Page 3 of The Marrowdale Survey"))
    expect(dialog.locator("#page-mark")).to_be_visible()
    return stored_note(tab)


def test_show_on_page_opens_page_3_with_the_quote_highlighted(page: Page, server: str, corpus: Path) -> None:  # noqa: F811 - fixture
    import pymupdf

    page.goto(server)
    note = open_quarry_page(page)
    assert note["page"] == 3 and note["boxes"]
    # The frame holds every box of the quote, and the PDF's text inside the frame is the quote.
    x0, y0, x1, y1 = frame_in_points(page)
    for b in note["boxes"]:
        inside_frame = x0 - 1 <= b["x0"] and y0 - 1 <= b["y0"] and b["x1"] <= x1 + 1 and b["y1"] <= y1 + 1
        assert inside_frame, (b, (x0, y0, x1, y1))
    pdf = pymupdf.open(str(corpus / "corpus" / "survey.pdf"))
    inside = pdf[2].get_textbox(pymupdf.Rect(x0, y0, x1, y1))
    assert SENTENCE in " ".join(inside.split())
    # The image itself carries the highlight: yellow paper inside the frame.
    assert page.locator("#page-image").evaluate(YELLOW_SHARE) > 0.5
    expect(page.locator("#page-mark")).to_be_in_viewport()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-show-on-page.png"))

    # Next and previous page, by button and by keyboard; the last page has no next.
    dialog = page.locator("#page-dialog")
    dialog.get_by_role("button", name="Next page").click()
    expect(dialog.locator("#page-number")).to_have_text("Page 4 of 4")
    expect(dialog.locator("#page-image")).to_have_attribute("data-page", "4")
    expect(dialog.get_by_role("button", name="Next page")).to_be_disabled()
    expect(dialog.locator("#page-mark")).to_be_hidden()  # the quote is not on page 4
    page.keyboard.press("ArrowLeft")
    expect(dialog.locator("#page-number")).to_have_text("Page 3 of 4")
    expect(dialog.locator("#page-mark")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#panel")).to_be_visible()  # Escape closed the page, not the footnote


def test_show_on_page_by_keyboard_at_phone_width(page: Page, server: str) -> None:  # noqa: F811 - fixture
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server)
    turn = ask(page, QUESTION)
    marker = turn.get_by_role("link", name="footnote 1")
    marker.focus()
    page.keyboard.press("Enter")
    button = page.locator("#panel").get_by_role("button", name="Show on page")
    button.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#page-dialog")
    expect(dialog.locator("#page-number")).to_have_text("Page 3 of 4")
    expect(dialog.locator("#page-mark")).to_be_in_viewport()
    image = dialog.locator("#page-image").bounding_box()
    assert image is not None and image["x"] >= 0 and image["x"] + image["width"] <= 390  # fits the screen
    page.screenshot(path=str(ARTIFACTS / "chat-show-on-page-phone.png"))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_other_formats_show_in_document_at_the_heading(page: Page, server: str) -> None:  # noqa: F811 - fixture
    page.goto(server)
    turn = ask(page, "Where does the kestrel nest?")
    turn.get_by_role("link", name="footnote 1").click()
    panel = page.locator("#panel")
    expect(panel.get_by_role("button", name="Show on page")).to_have_count(0)  # no pages: not a PDF
    expect(panel.locator(".where")).not_to_contain_text("p.")
    panel.get_by_role("button", name="Show in document").click()
    text = page.locator("#document-text")
    expect(text.locator("#anchor-nesting-habits")).to_have_count(1)
    expect(text.locator("mark")).to_be_in_viewport()
    assert text.evaluate("(t) => t.textContent.indexOf('Nesting Habits')") < text.evaluate(
        "(t) => t.textContent.indexOf(t.querySelector('mark').textContent)")


def test_the_page_image_carries_the_api_key(page: Page, corpus: Path) -> None:  # noqa: F811 - fixture
    with live_server(corpus / "index", api_key="s3cret") as url:
        page.goto(url)
        page.locator("#settings summary").click()
        key = page.get_by_label("API key", exact=True)
        key.fill("s3cret")
        key.press("Enter")
        open_quarry_page(page)
        assert page.locator("#page-image").get_attribute("src").startswith("blob:")
