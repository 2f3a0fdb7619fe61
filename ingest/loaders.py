"""Format dispatch: raw bytes -> blocks (``Loaded``), with one short reason when a file is unreadable."""

from __future__ import annotations

from typing import TYPE_CHECKING

from footnote.errors import UnreadableDocument
from footnote.ingest import guards
from footnote.ingest.encoding import BinaryContent, decode
from footnote.ingest.units import Loaded

if TYPE_CHECKING:
    from footnote.ingest.ocr import OcrOptions

FORMATS = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".rst": "rst",
    ".rest": "rst",
    ".pptx": "pptx",
    ".epub": "epub",
}


def load(raw: bytes, fmt: str, name: str, ocr: OcrOptions | None = None) -> Loaded:
    """``ocr``: how scanned PDF pages are OCRed (None: not at all)."""
    guards.check(raw, fmt, name)  # a bomb is refused before anything is expanded
    if fmt == "pdf":
        from footnote.ingest.pdf_loader import load_pdf

        return load_pdf(raw, name, ocr)
    if fmt == "docx":
        from footnote.ingest.docx_loader import load_docx

        return load_docx(raw, name)
    if fmt == "pptx":
        from footnote.ingest.pptx_loader import load_pptx

        return load_pptx(raw, name)
    if fmt == "epub":
        from footnote.ingest.epub_loader import load_epub

        return load_epub(raw, name)
    try:
        text = decode(raw)
    except BinaryContent as exc:
        raise UnreadableDocument(name, "binary file") from exc
    if not text.strip():
        raise UnreadableDocument(name, "empty file")
    if fmt == "html":
        from footnote.ingest.html_loader import load_html

        return load_html(text)
    if fmt == "rst":
        from footnote.ingest.rst_loader import load_rst

        return load_rst(text)
    if fmt == "md":
        from footnote.ingest.markdown_loader import load_markdown

        return load_markdown(text)
    from footnote.ingest.text_loader import load_text

    return load_text(text)
