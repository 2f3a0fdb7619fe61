"""Checks before anything is expanded: a file whose own directory says it is a bomb is refused unread.

- Zip-based formats (docx; any zip): the sizes the zip's central directory declares (Python's ``zipfile``,
  which the docx reader uses, never returns more than the declared size of a member): the total uncompressed
  size, and each large member's compression ratio.
- PDF: the page count, then page by page each content stream the page draws (and the forms it uses), inflated
  in bounded slices that are counted and dropped, against a cap per stream and for the whole file.

The loader calls ``check`` first (``ingest.loaders.load``); the limits are plain values set by the caller
(``limits``, from ``footnote.settings`` at the edges), the defaults otherwise.
"""

from __future__ import annotations

import contextlib
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from footnote.errors import UnreadableDocument

_MB = 1 << 20
_SLICE = 1 << 20  # bytes inflated at a time while counting
_RATIO_FROM = 1 << 20  # members smaller than this (uncompressed) are not held to the ratio
_REFERENCE = re.compile(r"(\d+) 0 R")


@dataclass(frozen=True)
class GuardLimits:
    """Caps checked before a file is expanded (``FOOTNOTE_ZIP_*``, ``FOOTNOTE_PDF_*``)."""

    zip_max_mb: int = 200  # total uncompressed size of a zip-based file
    zip_max_ratio: int = 100  # uncompressed / compressed, for each member over 1 MB
    pdf_max_pages: int = 2000
    pdf_max_stream_mb: int = 64  # one decoded content stream
    pdf_max_total_mb: int = 256  # all content streams of the file, decoded


_current: ContextVar[GuardLimits | None] = ContextVar("footnote_guard_limits", default=None)


@contextlib.contextmanager
def limits(value: GuardLimits) -> Iterator[None]:
    """Use ``value`` for the checks made inside the block."""
    token = _current.set(value)
    try:
        yield
    finally:
        _current.reset(token)


def current() -> GuardLimits:
    return _current.get() or GuardLimits()


def check(raw: bytes, fmt: str, name: str) -> None:
    """Raise ``UnreadableDocument`` when ``raw`` would expand past a limit."""
    if fmt == "docx" or raw[:4] == b"PK\x03\x04":
        check_zip(raw, name, current())
    elif fmt == "pdf":
        check_pdf(raw, name, current())


def check_zip(raw: bytes, name: str, caps: GuardLimits) -> None:
    try:
        members = zipfile.ZipFile(io.BytesIO(raw)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # the loader says what is wrong with it
    total = 0
    for member in members:
        total += member.file_size
        if total > caps.zip_max_mb * _MB:
            raise UnreadableDocument(name, f"refused: it would expand to more than {caps.zip_max_mb} MB "
                                           "(FOOTNOTE_ZIP_MAX_MB)")
        if member.file_size >= _RATIO_FROM and member.file_size > caps.zip_max_ratio * max(1, member.compress_size):
            ratio = member.file_size // max(1, member.compress_size)
            raise UnreadableDocument(name, f"refused: {member.filename} is compressed {ratio}:1, more than "
                                           f"{caps.zip_max_ratio}:1 (FOOTNOTE_ZIP_MAX_RATIO): a zip bomb")


def check_pdf(raw: bytes, name: str, caps: GuardLimits) -> None:
    import pymupdf

    try:
        document = pymupdf.open(stream=raw, filetype="pdf")
    except Exception:  # noqa: BLE001 - the loader says what is wrong with it
        return
    try:
        pages = document.page_count
        if pages > caps.pdf_max_pages:
            raise UnreadableDocument(name, f"refused: it has {pages} pages, more than {caps.pdf_max_pages} "
                                           "(FOOTNOTE_PDF_MAX_PAGES)")
        seen: set[int] = set()
        total = 0
        for number in range(pages):
            for xref in _page_streams(document, number, seen):
                size = _decoded_size(document, xref, caps.pdf_max_stream_mb * _MB)
                total += size
                if size > caps.pdf_max_stream_mb * _MB:
                    raise UnreadableDocument(name, f"refused: a content stream of page {number + 1} decodes to "
                                                   f"more than {caps.pdf_max_stream_mb} MB "
                                                   "(FOOTNOTE_PDF_MAX_STREAM_MB)")
                if total > caps.pdf_max_total_mb * _MB:
                    raise UnreadableDocument(name, f"refused: its content streams decode to more than "
                                                   f"{caps.pdf_max_total_mb} MB (FOOTNOTE_PDF_MAX_TOTAL_MB)")
    finally:
        document.close()


def _page_streams(document: Any, number: int, seen: set[int]) -> list[int]:
    """The xrefs of the streams page ``number`` draws: its contents and the form XObjects of its resources."""
    found: list[int] = []
    try:
        page_xref = document.page_xref(number)
        candidates = list(document[number].get_contents())
        kind, value = document.xref_get_key(page_xref, "Resources/XObject")
        if kind == "dict":
            for ref in _REFERENCE.findall(value):
                if document.xref_get_key(int(ref), "Subtype")[1] == "/Form":  # images are not inflated to read
                    candidates.append(int(ref))
    except Exception:  # noqa: BLE001 - a malformed page: the loader reports it
        return found
    for xref in candidates:
        if xref not in seen and xref > 0:
            seen.add(xref)
            found.append(xref)
    return found


def _decoded_size(document: Any, xref: int, cap: int) -> int:
    """The stream's size after its filters, counted up to ``cap`` + 1: only Flate is inflated (in slices that
    are dropped); other filters count as their raw size."""
    try:
        if not document.xref_is_stream(xref):
            return 0
        _kind, filters = document.xref_get_key(xref, "Filter")
        raw = document.xref_stream_raw(xref)
    except Exception:  # noqa: BLE001
        return 0
    if raw is None:
        return 0
    if "FlateDecode" not in (filters or "") and "Fl" not in (filters or "").split("/"):
        return len(raw)
    inflater = zlib.decompressobj()
    size = 0
    data = raw
    try:
        while data and size <= cap:
            size += len(inflater.decompress(data, _SLICE))
            data = inflater.unconsumed_tail
    except zlib.error:
        return size
    return size
