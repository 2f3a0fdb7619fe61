"""The documents panel in a real headless Chromium: upload a PDF and a docx, ask about each, open the
footnote, delete one after confirming with the keyboard, and the same question then abstains."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from docx import Document
from fpdf import FPDF
from playwright.sync_api import Page, expect

from tests.service.conftest import live_server
from tests.service.test_chat_page import ARTIFACTS, ask, browser, page  # noqa: F401 - fixtures
from tests.service.upload_helpers import small_index

PDF_QUESTION = "When did the Ostrava glassworks open?"
DOCX_QUESTION = "How big is the mirror of the Brindle observatory telescope?"


def make_pdf(path: Path) -> Path:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(0, 12, "Ostrava Glassworks", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 7, "The Ostrava glassworks opened in 1893 and employed four hundred people. "
                         "Its furnaces burned coal from the nearby Hlubina mine.")
    pdf.output(str(path))
    return path


def make_docx(path: Path) -> Path:
    doc = Document()
    doc.add_heading("Brindle Observatory", level=0)
    doc.add_paragraph("The Brindle observatory telescope has a mirror of 2.4 metres. "
                      "It was first used in 1931 to photograph the comet Arend.")
    doc.save(str(path))
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(small_index(tmp_path_factory.mktemp("documents-page"))) as url:
        yield url


def test_upload_ask_open_delete(page: Page, server: str, tmp_path: Path) -> None:  # noqa: F811 - fixture
    page.goto(server)
    page.get_by_text("Documents", exact=False).first.click()
    library = page.locator("#library")
    expect(library.locator("#library-count")).to_have_text("1")
    expect(library.locator("#library-summary")).to_have_text("1 document (0 uploaded) · 1 passage · 0 footnotes")
    expect(library.get_by_role("button", name=re.compile("^Delete"))).to_have_count(0)  # corpus: read-only

    files = [make_pdf(tmp_path / "glassworks.pdf"), make_docx(tmp_path / "observatory.docx")]
    page.get_by_label("Add documents").set_input_files([str(f) for f in files])
    bar = library.get_by_role("progressbar", name="Adding glassworks.pdf, observatory.docx")
    expect(bar).to_have_attribute("aria-valuenow", "100")
    expect(bar).to_have_attribute("aria-valuetext", "done")
    job = library.locator(".job").first
    expect(job.locator(".file.ingested")).to_have_text([
        "glassworks.pdf — added as glassworks (1 passage)", "observatory.docx — added as observatory (1 passage)"])
    expect(library.locator("#library-summary")).to_have_text("3 documents (2 uploaded) · 3 passages · 0 footnotes")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "documents-panel.png"))
    page.keyboard.press("Escape")
    library.locator("summary").click()  # closes the panel

    pdf_turn = ask(page, PDF_QUESTION)
    expect(pdf_turn.locator(".quote").first).to_contain_text("The Ostrava glassworks opened in 1893")
    pdf_turn.get_by_role("link", name="footnote 1").click()
    panel = page.locator("#panel")
    expect(panel.locator(".fn-quote")).to_have_text(
        "The Ostrava glassworks opened in 1893 and employed four hundred people.")
    expect(panel.locator(".where")).to_contain_text("Ostrava Glassworks")
    docx_turn = ask(page, DOCX_QUESTION)
    expect(docx_turn.locator(".quote").first).to_contain_text("a mirror of 2.4 metres")
    docx_turn.get_by_role("link", name="footnote 1").click()
    expect(panel.locator(".where")).to_contain_text("Brindle Observatory")

    # Delete the PDF, keyboard only: the button, Enter, the dialog (Cancel has focus), Tab, Enter.
    library.locator("summary").click()
    delete = library.get_by_role("button", name="Delete Ostrava Glassworks")
    delete.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Delete document")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Delete “Ostrava Glassworks” (glassworks.pdf)?")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")  # cancelling keeps it
    expect(dialog).to_be_hidden()
    expect(delete).to_be_visible()
    delete.focus()
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Delete")).to_be_focused()
    page.keyboard.press("Enter")
    gone = library.get_by_role("progressbar", name="Deleting Ostrava Glassworks")
    expect(gone).to_have_attribute("aria-valuenow", "100")
    expect(library.locator("#library-summary")).to_have_text("2 documents (1 uploaded) · 2 passages · 0 footnotes")
    expect(library.locator(".document", has_text="glassworks.pdf")).to_have_count(0)
    library.locator("summary").click()

    page.get_by_role("button", name="New conversation").click()  # asked afresh, not as a follow-up
    again = ask(page, PDF_QUESTION)
    expect(again.locator(".not-found")).to_have_text("Not found in the documents.")
    expect(ask(page, DOCX_QUESTION).locator(".quote").first).to_contain_text("a mirror of 2.4 metres")


def test_a_refused_upload_says_why(page: Page, server: str, tmp_path: Path) -> None:  # noqa: F811 - fixture
    page.goto(server)
    page.locator("#library summary").click()
    tool = tmp_path / "tool.exe"
    tool.write_bytes(b"MZ")
    page.get_by_label("Add documents").set_input_files(str(tool))
    expect(page.locator("#library-message [role=alert]")).to_contain_text(
        "nothing to ingest (tool.exe: unsupported format (.exe))")
