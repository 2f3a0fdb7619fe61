"""Safe, unique names for uploaded files: no path traversal, no hidden files, no clash with what is there.

A name as sent (``../../x.txt``, ``C:\\Users\\me\\Report.PDF``) keeps only its last component, with
anything but letters, digits, ``.``, ``-``, ``_`` and spaces replaced, no leading dots (ingest skips hidden
files) and a lower-case extension. A name already taken by another file, or whose document id would be
another document's, gets ``-2``, ``-3``, ... before its extension; the same bytes are stored once. A name
is cut to fit a file system's 255-byte limit (in UTF-8: 100 CJK characters are 300 bytes), keeping its
extension and leaving room for that ``-N``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MAX_STEM = 100  # characters
MAX_NAME_BYTES = 255  # a file name's limit on ext4, XFS, btrfs, APFS and NTFS (UTF-16 there, but 255 is safe)
MAX_EXT_BYTES = 16
SUFFIX_ROOM = 8  # bytes kept free for the ``-N`` that ``NameBook.claim`` may add
_UNSAFE = re.compile(r"[^\w.\- ]+")


def safe_name(raw: str) -> str:
    """The last path component of ``raw``, made safe to store (never empty, never hidden)."""
    name = unicodedata.normalize("NFC", raw.replace("\\", "/").rsplit("/", 1)[-1])
    name = _UNSAFE.sub("-", name)
    name = re.sub(r"\s+", " ", name).strip(" .-")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ext = _cut(ext.lower(), MAX_EXT_BYTES) if ext else ""
    room = MAX_NAME_BYTES - SUFFIX_ROOM - (len(ext.encode()) + 1 if ext else 0)
    stem = _cut(stem.strip(" .-")[:MAX_STEM], room).strip(" .-") or "upload"
    return f"{stem}.{ext}" if ext else stem


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8, at a character boundary."""
    return text.encode()[:limit].decode("utf-8", errors="ignore")


class NameBook:
    """What is taken: files in the index and in queued jobs, their document ids and contents.

    ``entries``: the manifest's documents; ``staged``: (name in the uploads folder, sha256 or None) of each
    file a queued job will add.
    """

    def __init__(self, entries: list[dict[str, Any]], staged: Iterable[tuple[str, str | None]]) -> None:
        from footnote.ingest.documents import slug

        staged = list(staged)
        self._slug = slug
        self.names: set[str] = {str(e["path"]) for e in entries} | {name for name, _ in staged}
        self.ids: set[str] = {str(e["doc_id"]) for e in entries} | {slug(n) for n in self.names}
        self.contents: dict[str, str] = {str(e["sha256"]): str(e["path"]) for e in entries}
        self.contents.update({sha: name for name, sha in staged if sha})

    def safe(self, raw: str) -> str:
        return safe_name(raw)

    def same_content(self, sha256: str) -> str | None:
        """The document already holding these bytes, if any."""
        return self.contents.get(sha256)

    def claim(self, name: str, sha256: str) -> str:
        """A free name for ``name`` (taken from now on)."""
        stem, ext = Path(name).stem, Path(name).suffix
        candidate, n = name, 1
        while candidate in self.names or self._slug(candidate) in self.ids:
            n += 1
            tail = f"-{n}{ext}"
            candidate = _cut(stem, MAX_NAME_BYTES - len(tail.encode())) + tail
        self.names.add(candidate)
        self.ids.add(self._slug(candidate))
        self.contents[sha256] = candidate
        return candidate
