"""Files -> Documents: finding supported files, reading one, and naming it.

``parse`` is the one place where a parser's failure becomes a skipped file: an ``UnreadableDocument``
raised by a loader keeps its own reason, and any other exception from a loader or from the shared
structure step (a third-party parser's ``AttributeError`` on a malformed docx, a ``RecursionError`` on
absurdly deep HTML) becomes ``UnreadableDocument`` naming the parser's message, so one hostile file never
loses the run.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from footnote.errors import DocumentError, InputError, UnreadableDocument, UnsupportedFormat
from footnote.ingest.loaders import FORMATS, load
from footnote.ingest.models import Document
from footnote.ingest.pages import align
from footnote.ingest.structure import build

if TYPE_CHECKING:
    from footnote.ingest.ocr import OcrOptions

_SLUG = re.compile(r"[^\w]+")
_FORMAT_NAMES = {"txt": "text", "md": "Markdown", "html": "HTML", "pdf": "PDF", "docx": "docx",
                 "rst": "reStructuredText", "pptx": "pptx", "epub": "EPUB"}
_MAX_MESSAGE = 200


def discover(paths: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Supported files under ``paths`` (recursive, sorted, hidden entries skipped), and the files
    skipped with their reason: unsupported, or a symbolic link not followed (see ``_link_problem``).
    A path that does not exist raises ``InputError``. A file named in ``paths`` is read even when it is
    a link: the user named it."""
    found: set[Path] = set()
    skipped: dict[Path, str] = {}
    for given in paths:
        given = Path(given)
        if not given.exists():
            raise InputError(f"{given} does not exist")
        if given.is_dir():
            candidates, links = _walk(given)
            root, real = given.resolve(), {path.resolve() for path in candidates}
            for link in links:
                problem = _link_problem(link, root, real)
                if problem is None:
                    candidates.append(link)
                else:
                    skipped[link] = problem
        else:
            candidates = [given]
        for path in candidates:
            if path.suffix.lower() in FORMATS:
                found.add(path)
            else:
                skipped[path] = unsupported_reason(path)
    return sorted(found), sorted(skipped.items())


def _walk(folder: Path) -> tuple[list[Path], list[Path]]:
    """(regular files, symbolic links) under ``folder``, hidden entries left out. Hidden folders (the
    server's ``.incoming`` staging, ``.jobs``, ``.removed``) are never entered, linked folders are not
    followed, and an entry that vanishes while the walk runs (another upload's staging folder removed
    meanwhile) is passed over rather than failing the run. Every path is inside ``folder`` up to its last
    component."""
    files: list[Path] = []
    links: list[Path] = []
    pending = [folder]
    while pending:
        here = pending.pop()
        try:
            with os.scandir(here) as entries:
                listed = sorted(entries, key=lambda entry: entry.name)
        except OSError:  # removed since it was listed, or not readable (as rglob did, passed over)
            continue
        for entry in listed:
            if entry.name.startswith("."):
                continue
            path = here / entry.name
            try:
                if entry.is_symlink():
                    links.append(path)
                elif entry.is_dir(follow_symlinks=False):
                    pending.append(path)
                elif entry.is_file(follow_symlinks=False):
                    files.append(path)
            except OSError:
                continue
    return files, links


def _link_problem(link: Path, root: Path, real: set[Path]) -> str | None:
    """Why a symbolic link found in ``root`` is not followed, or None to read it. Only a link to a regular
    file inside ``root`` is read (and not even that when the file is ingested under its own name): a link
    out of the folder (``/etc/passwd``) would ingest, and then serve, a file nobody put in it."""
    try:
        target = link.resolve(strict=True)
    except RuntimeError:  # Python 3.11 reports a loop this way; 3.13 raises OSError(ELOOP)
        return "symbolic link loop"
    except FileNotFoundError:
        return "broken symbolic link: its target does not exist"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        return f"cannot follow symbolic link: {(exc.strerror or str(exc)).lower()}"
    if not target.is_relative_to(root):
        return "symbolic link to outside the folder being ingested: not followed"
    if target.is_dir():
        return "symbolic link to a folder: not followed (its files are read where they are)"
    if not target.is_file():
        return "symbolic link to something that is not a regular file"
    if target in real:
        return f"symbolic link to {target.relative_to(root).as_posix()}, which is ingested under its own name"
    return None


def unsupported_reason(path: Path) -> str:
    suffix = path.suffix.lower()
    return f"unsupported format ({suffix})" if suffix else "unsupported format (no extension)"


def parse(path: Path, root: Path | None = None, ocr: OcrOptions | None = None) -> Document:
    """Read one file into a Document; raise ``UnsupportedFormat`` or ``UnreadableDocument``. ``ocr``: how
    scanned PDF pages are OCRed (None: not at all); a file that needs OCR where Tesseract is missing is
    skipped with the line that names the package."""
    from footnote.ingest.ocr import OcrUnavailable

    path = Path(path)
    relative = _relative(path, root)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UnsupportedFormat(relative, unsupported_reason(path))
    raw = _read(path, relative)
    if not raw.strip():
        raise UnreadableDocument(relative, "empty file")
    try:
        loaded = load(raw, fmt, relative, ocr)
        structured = build(loaded, fallback_title=_humane(path.stem))
    except DocumentError:
        raise
    except OcrUnavailable as exc:
        raise UnreadableDocument(relative, str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - any parser failure is this file's problem, not the run's
        raise UnreadableDocument(relative, parser_failure(fmt, exc)) from exc
    if not structured.text.strip():
        raise UnreadableDocument(relative, "no text found")
    return Document(
        doc_id=slug(relative),
        title=structured.title,
        path=relative,
        sha256=hashlib.sha256(raw).hexdigest(),
        text=structured.text,
        format=fmt,
        sections=structured.sections,
        footnotes=structured.footnotes,
        markers=structured.markers,
        ocr_pages=tuple(sorted(set(loaded.ocr_pages))),
        page_map=align(structured.text, loaded.layout, structured.sections, loaded.page_sizes)
        if loaded.layout else None,
    )


def parser_failure(fmt: str, exc: BaseException) -> str:
    """One readable line for an unexpected parser exception: the format, the exception type and message."""
    message = " ".join(str(exc).split())
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE - 3] + "..."
    detail = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return f"cannot parse as {_FORMAT_NAMES.get(fmt, fmt)} ({detail})"


def slug(relative: str) -> str:
    """A readable, stable id from a relative path: ``reports/CET Index.txt`` -> ``reports-cet-index``."""
    stem = str(Path(relative).with_suffix("")) if Path(relative).suffix else relative
    value = _SLUG.sub("-", stem.lower()).strip("-_")
    return value or hashlib.sha256(relative.encode()).hexdigest()[:12]


def _relative(path: Path, root: Path | None) -> str:
    if root is None:
        return path.name
    # The path as found, not resolved: a followed link keeps its own name.
    for mine, theirs in ((os.path.abspath(path), os.path.abspath(root)), (path.resolve(), Path(root).resolve())):
        try:
            return Path(mine).relative_to(theirs).as_posix()
        except ValueError:
            continue
    return path.name


def _read(path: Path, relative: str) -> bytes:
    try:
        return path.read_bytes()
    except PermissionError as exc:
        raise UnreadableDocument(relative, "cannot read: permission denied") from exc
    except IsADirectoryError as exc:
        raise UnreadableDocument(relative, "cannot read: is a directory") from exc
    except FileNotFoundError as exc:
        raise UnreadableDocument(relative, "cannot read: no such file") from exc
    except OSError as exc:
        raise UnreadableDocument(relative, f"cannot read: {(exc.strerror or str(exc)).lower()}") from exc


def _humane(stem: str) -> str:
    words = re.sub(r"[-_]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else stem
