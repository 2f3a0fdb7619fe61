"""Every error Footnote raises on purpose, in one place.

The CLI prints these as one line (``error: <message>``) and exits non-zero; the HTTP service turns them
into a JSON ``{"detail": ...}`` with the status code noted below. Anything else is a bug.

    FootnoteError
    ├── InputError               bad arguments or a path that does not exist          (CLI exit 2, HTTP 422)
    │   └── NothingIngested      an ingest run that produced no document              (CLI exit 1)
    ├── DocumentError            one file that cannot be ingested: skipped with its reason
    │   ├── UnsupportedFormat    a file type Footnote does not read
    │   └── UnreadableDocument   empty, binary, corrupt, or unreadable
    ├── IndexError_              the search index cannot be used
    │   ├── IndexMissing         no index yet: run `footnote ingest`                  (HTTP 503)
    │   └── IndexIncompatible    built by another model/format, or damaged: re-run ingest (HTTP 503)
    └── NotFound                 an unknown document or passage id                    (HTTP 404)
"""

from __future__ import annotations


class FootnoteError(Exception):
    """Base class: the message is meant for the user, as is."""


class InputError(FootnoteError):
    """The user asked for something that cannot be done as asked."""


class NothingIngested(InputError):
    """An ingest run found no document it could read."""


class DocumentError(FootnoteError):
    """A single file could not be ingested; the run goes on without it."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class UnsupportedFormat(DocumentError):
    """The file's type is not one Footnote reads."""


class UnreadableDocument(DocumentError):
    """The file is empty, binary, corrupt or cannot be opened."""


class IndexError_(FootnoteError):  # the trailing underscore avoids shadowing the builtin
    """The index folder cannot be used."""


class IndexMissing(IndexError_):
    """There is no index at the configured path."""


class IndexIncompatible(IndexError_):
    """The index was built differently (model, format) or is damaged."""


class NotFound(FootnoteError):
    """An id that names nothing."""
