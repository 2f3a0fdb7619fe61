"""Planning one ingest run, before anything is embedded: what the previous version offers, where the vectors
go, which files are new, changed, unchanged or gone, and their documents and passages.

Unchanged files (the sha256 of their bytes, the same root) are neither parsed nor chunked: their passages
come from the previous version, unless the chunk settings changed. A change of model or text recipe keeps
the passages and drops the vectors.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from footnote.errors import DocumentError, IndexError_, NothingIngested
from footnote.index import versions
from footnote.index.embed import file_sha256
from footnote.index.manifest import TEXT_RECIPE, read_manifest
from footnote.index.vectors import FaissStore, VectorStore, store_for
from footnote.index.writer import Previous, read_previous
from footnote.ingest.models import Document, Passage
from footnote.ingest.ocr import OcrOptions, available
from footnote.ingest.tokens import WordPieces
from footnote.ingest.worker import ParseLimits

PROGRESS_MIN_FILES = 20

Say = Callable[[str], Any]
OnProgress = Callable[[str, int, int], Any]


@dataclass
class Source:
    """One file to index and what became of it."""

    file: Path
    root: Path
    sha256: str
    document: Document | None = None
    passages: list[Passage] | None = None
    status: str = "new"  # new | changed | unchanged


@dataclass(frozen=True)
class Plan:
    """What one run builds: the files found and the previous version they are compared with."""

    paths: list[Path]
    chunking: dict[str, Any]
    store: VectorStore  # where this run's passage vectors go
    prev: Previous | None  # the current version, when it reads
    reuse_vectors: bool  # its vectors were made by this run's model and text recipe
    reason: str | None  # why not everything is reused
    sources: list[Source]
    skipped: list[tuple[str, str]]  # (file, reason)
    removed: tuple[str, ...]  # document paths the previous version had and this run does not

    @property
    def cache(self) -> Previous | None:
        """The previous version when its vectors may be reused."""
        return self.prev if self.reuse_vectors else None

    @property
    def documents(self) -> list[Document]:
        return [s.document for s in self.sources if s.document is not None]

    @property
    def passages(self) -> list[Passage]:
        return [p for s in self.sources for p in (s.passages or [])]

    def paths_of(self, status: str) -> tuple[str, ...]:
        """The document paths of the sources with ``status`` (new, changed, unchanged)."""
        return tuple(s.document.path for s in self.sources if s.status == status and s.document is not None)

    def up_to_date(self, dense_kind: str, sentences: bool) -> bool:
        """Whether the previous version is already what this run would build."""
        prev = self.prev
        return prev is not None and self.reuse_vectors and not self.paths_of("new") \
            and not self.paths_of("changed") and not self.removed \
            and prev.manifest.dense.get("requested") == dense_kind and self.store.holds(prev.manifest) \
            and prev.manifest.sentence_vectors == sentences and prev.manifest.fusion is not None \
            and [e["source"] for e in prev.manifest.documents] == [str(s.file.resolve()) for s in self.sources]


def plan(paths: list[Path], index_dir: Path, chunking: dict[str, Any], model_sha: str,
         word_pieces: Callable[[], WordPieces], store: VectorStore | None, say: Say, progress: bool | None,
         on_progress: OnProgress | None, ocr: OcrOptions | None = None, keep_failed: bool = False,
         limits: ParseLimits | None = None) -> Plan:
    """The plan of one run (hold the writer lock). ``store`` None: where the current version keeps its
    vectors, FAISS for a new index; it is checked before any file is read. ``ocr``: how scanned PDF pages
    are OCRed (None: not at all). ``keep_failed``: a changed file that no longer parses keeps the version
    the index has (it is still listed as skipped, with its reason), as a watched folder wants."""
    prev, reuse_passages, reuse_vectors, reason = _previous(index_dir, chunking, model_sha, say)
    if store is None:
        store = store_for(prev.manifest) if prev is not None else FaissStore()
    store.check(index_dir, say)
    sources, skipped = _collect(paths, prev, reuse_passages, chunking, word_pieces(), say, progress, on_progress,
                                ocr, keep_failed, limits)
    if not sources:
        where = ", ".join(str(p) for p in paths)
        raise NothingIngested(f"nothing to index in {where}: " + (
            f"all {len(skipped)} file{'' if len(skipped) == 1 else 's'} skipped" if skipped
            else "no supported files found"))
    present = {str(s.file.resolve()) for s in sources}  # once: per entry it made re-ingests quadratic
    removed = tuple(sorted(e["path"] for src, e in (prev.entries.items() if prev else []) if src not in present))
    return Plan(paths, chunking, store, prev, reuse_vectors, reason, sources, skipped, removed)


def _previous(index_dir: Path, chunking: dict[str, Any], model_sha: str,
              say: Say) -> tuple[Previous | None, bool, bool, str | None]:
    """(previous version, may reuse its passages, may reuse its vectors, why not everything is reused)."""
    folder = versions.resolve(index_dir)
    if folder is None:
        return None, False, False, None
    try:
        manifest = read_manifest(folder, index_dir)
        same_model = manifest.model.get("sha256") == model_sha and manifest.text_recipe == TEXT_RECIPE
        same_chunks = manifest.chunking == chunking
        prev = read_previous(folder, with_vectors=same_model)
    except (IndexError_, OSError, ValueError, KeyError, TypeError) as exc:
        say(f"rebuilding from scratch: the previous index is unusable ({exc})")
        return None, False, False, "previous index unusable"
    reason = None
    if not same_model:
        reason = "the embedding model or text recipe changed"
    elif not same_chunks:
        old = manifest.chunking
        reason = (f"chunk settings changed ({old.get('chunk_tokens')} tokens/{old.get('overlap')} overlap -> "
                  f"{chunking['chunk_tokens']}/{chunking['overlap']})")
    if reason:
        say(f"rebuilding: {reason}")
    return prev, same_chunks, same_model, reason


def _collect(paths: Sequence[Path], prev: Previous | None, reuse: bool, chunking: dict[str, Any],
             word_pieces: WordPieces, say: Say, progress: bool | None,
             on_progress: OnProgress | None = None,
             ocr: OcrOptions | None = None,
             keep_failed: bool = False,
             limits: ParseLimits | None = None) -> tuple[list[Source], list[tuple[str, str]]]:
    """Every file to index, parsed and chunked unless the previous version already has it unchanged.
    Files are read in the parse workers (``ingest.worker``, ``limits``): a file that breaks a limit is skipped."""
    from tqdm import tqdm

    from footnote.ingest import discover
    from footnote.ingest.worker import ParseTask, parse_files

    skipped: list[tuple[str, str]] = []
    found: list[tuple[Path, Path]] = []
    seen_files: set[Path] = set()
    for given in paths:
        files, unsupported = discover([given])  # one root at a time: Document.path is relative to it
        root = given if given.is_dir() else given.parent
        skipped.extend((str(path), why) for path, why in unsupported)
        for path in files:
            if path.resolve() not in seen_files:
                seen_files.add(path.resolve())
                found.append((path, root))
    for shown, why in skipped:
        say(f"skipped {shown}: {why}")
    if ocr is not None and ocr.enabled and any(path.suffix.lower() == ".pdf" for path, _ in found):
        missing = available(ocr.language)
        if missing is not None:  # said once; a PDF that is only scans is skipped with the same reason
            say(f"{missing}: scanned PDF pages are not read")

    sources: list[Source] = []
    by_id: dict[str, Path] = {}
    # The ids the previous version gave to files still here: each keeps its own.
    present = {file.resolve() for file, _root in found}
    reserved = {str(e["doc_id"]): Path(src) for src, e in (prev.entries.items() if prev else [])
                if Path(src) in present}

    def skip(shown: Path, reason: str) -> None:
        skipped.append((str(shown), reason))
        say(f"skipped {shown}: {reason}")

    hashes: dict[Path, str] = {}
    for file, _root in found:
        try:
            hashes[file] = file_sha256(file)
        except OSError as exc:
            skip(file, f"cannot read: {(exc.strerror or str(exc)).lower()}")
    # Identical files are stored once: the copy already in the index wins, else the first in order.
    def indexed(file: Path, sha: str) -> bool:
        return prev is not None and prev.entries.get(str(file.resolve()), {}).get("sha256") == sha

    keeper: dict[str, Path] = {}
    for file, _root in found:
        sha = hashes.get(file)
        if sha is not None and (sha not in keeper or (indexed(file, sha) and not indexed(keeper[sha], sha))):
            keeper[sha] = file
    def reusable(file: Path, root: Path, sha: str) -> bool:
        entry = prev.entries.get(str(file.resolve())) if prev is not None else None
        return reuse and prev is not None and entry is not None and entry["sha256"] == sha \
            and entry["root"] == str(root.resolve()) and entry["doc_id"] in prev.documents

    # Every file to read goes to the parse workers at once (they read in parallel); results come back in order.
    to_read = [(file, root) for file, root in found
               if (sha := hashes.get(file)) is not None and keeper[sha] == file and not reusable(file, root, sha)]
    show = len(found) > PROGRESS_MIN_FILES if progress is None else progress
    with tqdm(total=len(to_read), desc="parsing", unit="file", disable=not show, file=sys.stderr,
              mininterval=0.5, leave=False) as bar:
        def read_progress(done: int, _total: int) -> None:
            bar.update(done - bar.n)
            if on_progress is not None:
                on_progress("parsing", done + len(found) - len(to_read), len(found))

        outcomes = parse_files([ParseTask(file, root, chunking["chunk_tokens"], chunking["overlap"], word_pieces, ocr)
                                for file, root in to_read], limits, read_progress)
    parsed = {file: outcome for (file, _root), outcome in zip(to_read, outcomes, strict=True)}
    if on_progress is not None:
        on_progress("parsing", len(found), len(found))
    for file, root in found:
        sha = hashes.get(file)
        if sha is None:
            continue
        if keeper[sha] != file:
            skip(file, f"identical to {keeper[sha]}")
            continue
        src = Source(file, root, sha)
        entry = prev.entries.get(str(file.resolve())) if prev is not None else None
        if reusable(file, root, sha) and prev is not None and entry is not None:
            src.document = prev.documents[entry["doc_id"]]
            src.passages = list(prev.passages.get(entry["doc_id"], []))
            src.status = "unchanged"
        else:
            try:
                outcome = parsed[file]
                if isinstance(outcome, DocumentError):
                    raise outcome
                src.document, src.passages = outcome
            except DocumentError as exc:
                kept = entry is not None and keep_failed and reuse and prev is not None \
                    and entry["root"] == str(root.resolve()) and entry["doc_id"] in prev.documents
                if not kept or prev is None or entry is None:
                    skip(file, exc.reason)
                    continue
                # The version indexed stays, under its own sha256, so the next run reads the file again.
                skip(file, f"{exc.reason}; the previous version is kept")
                src.sha256 = str(entry["sha256"])
                src.document = prev.documents[entry["doc_id"]]
                src.passages = list(prev.passages.get(entry["doc_id"], []))
                src.status = "unchanged"
            if not src.passages:
                skip(file, "no text to index")
                continue
            src.status = "changed" if entry is not None else "new"
        # Two files whose names give the same id (a corpus file and an upload both named lighthouse.txt) are
        # both kept: the one that had the id keeps it, the other gets ``-2``, ``-3``, ... (kept from then on).
        wanted = str(entry["doc_id"]) if entry is not None and entry.get("doc_id") else src.document.doc_id
        doc_id = _free_id(wanted, file.resolve(), by_id, reserved)
        if doc_id != src.document.doc_id:
            src.document, src.passages = _renamed(src.document, src.passages or [], doc_id)
        if doc_id != wanted:
            say(f"{file}: document id {wanted!r} is taken by {by_id.get(wanted) or reserved[wanted]}; "
                f"this one is {doc_id!r}")
        by_id[doc_id] = file
        sources.append(src)
    return sources, skipped


def _free_id(wanted: str, file: Path, taken: dict[str, Path], reserved: dict[str, Path]) -> str:
    """``wanted``, or ``wanted-2``, ``-3``, ...: the first id neither given to a file in this run nor held in the
    previous version by another file still present."""
    candidate, n = wanted, 1
    while candidate in taken or reserved.get(candidate, file) != file:
        n += 1
        candidate = f"{wanted}-{n}"
    return candidate


def _renamed(document: Document, passages: list[Passage], doc_id: str) -> tuple[Document, list[Passage]]:
    """``document`` and its passages under ``doc_id`` (a passage id is its document's id and a number)."""
    old = document.doc_id
    return dataclasses.replace(document, doc_id=doc_id), [
        dataclasses.replace(p, doc_id=doc_id, id=doc_id + p.id[len(old):] if p.id.startswith(old) else p.id)
        for p in passages]
