"""Every error Footnote raises on purpose, in one place.

The CLI prints these as one line (``error: <message>``) and exits non-zero; the HTTP service turns them
into a JSON ``{"detail": ...}`` with the status code noted below. Anything else is a bug.

    FootnoteError
    ├── InputError               bad arguments or a path that does not exist          (CLI exit 2, HTTP 422)
    │   ├── SettingError         a setting that cannot be used, named FOOTNOTE_... (the CLI: its option)
    │   ├── NothingIngested      an ingest run that produced no document              (CLI exit 1)
    │   └── IndexBusy            another ingest holds the index's writer lock
    ├── DocumentError            one file that cannot be ingested: skipped with its reason
    │   ├── UnsupportedFormat    a file type Footnote does not read
    │   └── UnreadableDocument   empty, binary, corrupt, or unreadable
    ├── IndexError_              the search index cannot be used
    │   ├── IndexMissing         no index yet: run `footnote ingest`                  (HTTP 503)
    │   └── IndexIncompatible    built by another model/format, or damaged: re-run ingest (HTTP 503)
    ├── NotFound                 an unknown document or passage id                    (HTTP 404)
    └── UploadError              an upload or delete the server will not do
        ├── UploadTooLarge       over FOOTNOTE_MAX_UPLOAD_MB per file or per request  (HTTP 413)
        ├── UnsupportedUpload    no file in the upload is a format ingest reads       (HTTP 415)
        ├── ReadOnlyDocument     a corpus document cannot be deleted through the API  (HTTP 409)
        └── WritesRefused        no API key and not listening on localhost            (HTTP 403)
"""

from __future__ import annotations


class FootnoteError(Exception):
    """Base class: the message is meant for the user, as is."""


class InputError(FootnoteError):
    """The user asked for something that cannot be done as asked."""


class SettingError(InputError):
    """A setting (a field of ``footnote.settings.Settings``) whose value cannot be used as it is.

    The message names the setting by its environment variable (``FOOTNOTE_STORE: ...``), as a server or a
    library caller knows it; the CLI names its command-line option instead, unless the environment set it.
    """

    def __init__(self, setting: str, reason: str) -> None:
        self.setting = setting
        self.reason = reason
        super().__init__(f"{self.variable}: {reason}")

    @property
    def variable(self) -> str:
        return f"FOOTNOTE_{self.setting.upper()}"


class NothingIngested(InputError):
    """An ingest run found no document it could read."""


class IndexBusy(InputError):
    """Another ingest is updating the same index right now."""


class DocumentError(FootnoteError):
    """A single file could not be ingested; the run goes on without it."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self) -> tuple[type[DocumentError], tuple[str, str]]:
        return type(self), (self.path, self.reason)  # pickled across the parse workers (ingest.worker)


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


class UploadError(FootnoteError):
    """An upload or delete that the server refuses as asked."""


class UploadTooLarge(UploadError):
    """A file or the whole request is over the upload size limit."""


class UnsupportedUpload(UploadError):
    """Nothing in the upload is a format ingest reads."""


class ReadOnlyDocument(UploadError):
    """The document comes from the configured corpus folder, not from an upload."""


class WritesRefused(UploadError):
    """Uploads and deletes are off: no API key is set and the server listens beyond localhost."""
