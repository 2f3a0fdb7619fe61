"""OCR for scanned PDF pages: Tesseract through PyMuPDF's OCR support (MuPDF runs Tesseract itself; it needs
only Tesseract's language data, which Debian's ``tesseract-ocr`` and ``tesseract-ocr-eng`` install).

``page_dict`` returns an OCRed page in the very structure ``page.get_text("dict")`` returns (blocks, lines,
spans with bbox, size, flags, origin), so the PDF loader reads an OCRed page like any other. ``needs_ocr``
says whether a page's own text layer is missing: no text, or only a few stray characters, on a page that an
image covers (a scan). The loader's use, per page::

    data = page.get_text("dict")
    if ocr is not None and ocr.enabled and needs_ocr(data) and pages_ocred < ocr.max_pages:
        data = page_dict(page, ocr)  # OcrUnavailable when Tesseract's language data is missing
"""

from __future__ import annotations

import functools
import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from footnote.errors import FootnoteError

if TYPE_CHECKING:
    import pymupdf

INSTALL_HINT = "install Debian's tesseract-ocr and tesseract-ocr-eng (apt-get install tesseract-ocr tesseract-ocr-eng)"
# A scanned page: no text layer (or a stray few characters, a stamped page number) on a page mostly image.
IMAGE_COVER = 0.5
STRAY_CHARS = 20
_TEXT_BLOCK, _IMAGE_BLOCK = 0, 1
# Debian's and others' places for Tesseract's language data, newest first; TESSDATA_PREFIX wins.
_TESSDATA_GLOBS = ("/usr/share/tesseract-ocr/*/tessdata", "/usr/share/tessdata", "/usr/local/share/tessdata",
                   "/opt/homebrew/share/tessdata")


class OcrUnavailable(FootnoteError):
    """OCR cannot run here: Tesseract (its language data) is not installed, or not for the language asked."""


@dataclass(frozen=True)
class OcrOptions:
    """OCR of scanned PDF pages. ``language``: Tesseract's language names, ``eng`` or ``eng+deu``;
    ``max_pages``: pages OCRed per document at most (OCR is about a second a page); ``dpi``: the resolution
    pages are rendered at for Tesseract."""

    enabled: bool = True
    language: str = "eng"
    max_pages: int = 200
    dpi: int = 300


def needs_ocr(data: dict[str, Any]) -> bool:
    """Whether a page (``page.get_text("dict")``) has no text layer of its own but is an image: no text, or
    fewer than ``STRAY_CHARS`` characters, while images cover at least ``IMAGE_COVER`` of the page. A blank
    page (no text, no image) needs none."""
    chars = 0
    for block in data.get("blocks", ()):
        if block.get("type", _TEXT_BLOCK) == _TEXT_BLOCK:
            for line in block.get("lines", ()):
                for span in line.get("spans", ()):
                    chars += sum(1 for ch in span.get("text", "") if not ch.isspace())
    if chars >= STRAY_CHARS:
        return False
    width, height = float(data.get("width") or 0.0), float(data.get("height") or 0.0)
    if width <= 0 or height <= 0:
        return False
    return _image_cover(data, width, height) >= IMAGE_COVER


def _image_cover(data: dict[str, Any], width: float, height: float) -> float:
    """The share of the page that image blocks cover (overlaps counted once, on a coarse grid)."""
    grid = 50
    covered: set[tuple[int, int]] = set()
    for block in data.get("blocks", ()):
        if block.get("type") != _IMAGE_BLOCK:
            continue
        x0, y0, x1, y1 = (float(v) for v in block["bbox"])
        cols = range(max(0, int(x0 / width * grid)), min(grid, int(x1 / width * grid + 0.999)))
        rows = range(max(0, int(y0 / height * grid)), min(grid, int(y1 / height * grid + 0.999)))
        covered.update((c, r) for c in cols for r in rows)
    return len(covered) / (grid * grid)


@functools.lru_cache(maxsize=8)
def tessdata(language: str = "eng") -> str:
    """The folder of Tesseract's language data holding every language of ``language`` (``eng+deu``);
    ``OcrUnavailable`` naming the Debian package when there is none."""
    wanted = [name for name in language.split("+") if name.strip()]
    if not wanted:
        raise OcrUnavailable("OCR language is empty: set FOOTNOTE_OCR_LANGUAGE to a Tesseract language such as eng")
    candidates: list[str] = []
    if os.environ.get("TESSDATA_PREFIX"):
        candidates.append(os.environ["TESSDATA_PREFIX"])
    for pattern in _TESSDATA_GLOBS:
        candidates.extend(sorted(glob.glob(pattern), reverse=True))
    found_any = None
    for folder in candidates:
        if not Path(folder).is_dir():
            continue
        found_any = found_any or folder
        if all((Path(folder) / f"{name.strip()}.traineddata").is_file() for name in wanted):
            return folder
    if found_any is not None:
        missing = [n for n in wanted if not (Path(found_any) / f"{n.strip()}.traineddata").is_file()]
        raise OcrUnavailable(
            f"OCR skipped: Tesseract has no language data for {'+'.join(missing)} in {found_any} "
            f"(install Debian's tesseract-ocr-{missing[0]})")
    raise OcrUnavailable(f"OCR skipped: Tesseract is not installed; {INSTALL_HINT}")


def available(language: str = "eng") -> str | None:
    """None when OCR can run for ``language``, else the one line saying what to install."""
    try:
        tessdata(language)
    except OcrUnavailable as exc:
        return str(exc)
    return None


def page_dict(page: pymupdf.Page, options: OcrOptions) -> dict[str, Any]:
    """``page``'s text read by Tesseract, as ``page.get_text("dict")`` gives it (text blocks only).
    Raises ``OcrUnavailable`` when Tesseract's language data is missing."""
    import pymupdf

    folder = tessdata(options.language)
    flags = pymupdf.TEXTFLAGS_DICT & ~pymupdf.TEXT_PRESERVE_IMAGES
    try:
        textpage = page.get_textpage_ocr(flags=flags, language=options.language, dpi=options.dpi, full=True,
                                         tessdata=folder)
    except RuntimeError as exc:  # MuPDF's "OCR initialisation failed" and the like
        if "ocr" in str(exc).lower() or "tess" in str(exc).lower():
            raise OcrUnavailable(f"OCR failed: {exc}; {INSTALL_HINT}") from exc
        raise
    data: dict[str, Any] = page.get_text("dict", textpage=textpage)
    return data
