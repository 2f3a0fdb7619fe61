"""``footnote ingest``: bring the index in line with a set of files, doing only the work that changed.

The index mirrors the given paths: new files are added, changed files (sha256 of their bytes) replace
their passages, files no longer present are removed, unchanged files are neither parsed nor embedded.
Embeddings are reused by text, so only passages and sentences whose text is new get embedded. A change
of chunk settings re-chunks everything; a change of model (or index format) re-embeds everything.
Each run that changes something writes a new version folder and switches to it atomically
(``index.versions``); a run that changes nothing writes nothing.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from footnote.errors import DocumentError, IndexError_, InputError, NothingIngested
from footnote.index import versions
from footnote.index.embed import Embedder, configured_model_path, expected_model_sha256, get_embedder
from footnote.index.hybrid import FusionFit
from footnote.index.manifest import TEXT_RECIPE, Manifest, read_manifest
from footnote.index.text import dense_text
from footnote.index.vectors import FaissStore, VectorStore, store_for
from footnote.index.writer import (
    Previous,
    count_missing,
    gather_vectors,
    read_previous,
    sentence_texts,
    text_key,
    write_version,
)
from footnote.ingest.models import Document, Passage
from footnote.ingest.tokens import WordPieces

PROGRESS_MIN_FILES = 20
EMBED_SLICE = 64  # texts per embedding call when progress is observed
CHUNKER = "ingest.chunk/sentences+cl100k"


@dataclass(frozen=True)
class UpdateReport:
    """What one ``update_index`` run did."""

    index_dir: Path
    version: str | None  # the version now current (None only if there is none)
    documents: int  # documents in the index now
    passages: int  # passages in the index now
    new: tuple[str, ...] = ()  # document paths
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()  # (file, reason)
    embedded_documents: tuple[str, ...] = ()  # documents with at least one passage embedded this run
    embedded_passages: int = 0
    embedded_sentences: int = 0
    reused_passages: int = 0  # passages whose vector came from the previous version
    up_to_date: bool = False
    rebuild_reason: str | None = None  # why nothing could be reused, if so
    seconds: float = 0.0
    fusion: FusionFit | None = None  # the manifest's fusion: fitted weights and their evidence
    fusion_refit: bool = False  # fitted this run (else carried over from the previous version)
    fit_seconds: float = 0.0  # of ``seconds``, the time the fit took

    def summary(self) -> str:
        skipped = f"; {len(self.skipped)} file{'s' if len(self.skipped) != 1 else ''} skipped" \
            if self.skipped else ""
        if self.up_to_date:
            return f"index is up to date: {_n(self.documents, 'document')}, " \
                   f"{_n(self.passages, 'passage')}{skipped}"
        return (f"ingested {_n(self.documents, 'document')} ({len(self.new)} new, {len(self.changed)} changed, "
                f"{len(self.removed)} removed, {len(self.unchanged)} unchanged), "
                f"{_n(self.passages, 'passage')}{skipped}; index {self.version} at {self.index_dir}")


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@dataclass
class _Source:
    file: Path
    root: Path
    sha256: str
    document: Document | None = None
    passages: list[Passage] | None = None
    status: str = "new"  # new | changed | unchanged


def update_index(
    paths: Sequence[str | Path],
    index_dir: str | Path,
    *,
    chunk_tokens: int = 160,
    overlap: int = 0,
    echo: Callable[[str], Any] | None = None,
    embedder: Embedder | None = None,
    model_path: str | Path | None = None,
    embed_batch_size: int = 64,
    dense_kind: str = "auto",
    progress: bool | None = None,
    store: VectorStore | None = None,
    ray: str | None = None,
    on_progress: Callable[[str, int, int], Any] | None = None,
    sentences: bool = True,
) -> UpdateReport:
    """Make the index at ``index_dir`` hold exactly the supported files under ``paths``.

    The defaults are ``footnote.settings.Settings``'s; the CLI passes the settings' values.
    ``embedder``: the model to embed with (default: the one in ``model_path``, None for the packaged one).
    ``echo`` gets one line per skipped file (``skipped <path>: <reason>``) and per notable event.
    ``dense_kind`` is auto|flat|hnsw (auto: by size). ``progress``: None shows tqdm bars only for large
    inputs. Raises ``InputError`` for a missing path, ``NothingIngested`` when no document results.
    ``store``: where the passage vectors go (``index.vectors``; None: where the current version keeps them,
    FAISS for a new index). ``ray``: a Ray address to embed on (``local`` starts one; ``index.ray_embed``).
    The managed uploads folder beside the index (``versions.uploads_dir``) is always ingested with ``paths``,
    so neither an upload nor a CLI run drops the other's documents. ``on_progress(stage, done, total)`` is
    called with ("parsing", files read, files) and ("embedding", passages embedded, passages to embed)
    as work advances (a passage's share of the work includes its sentences).
    """
    started = time.perf_counter()
    say: Callable[[str], Any] = echo or (lambda line: None)
    chunking = {"chunk_tokens": int(chunk_tokens), "overlap": int(overlap), "chunker": CHUNKER}
    run_model = _Model(embedder, model_path, embed_batch_size)
    targets = [Path(p) for p in paths]
    uploads = versions.uploads_dir(Path(index_dir))
    if uploads.is_dir() and uploads.resolve() not in {t.resolve() for t in targets}:
        targets.append(uploads)
    return _update(targets, Path(index_dir), chunking, dense_kind, say, run_model, progress,
                   started, store, ray, on_progress, sentences)


class _Model:
    """The embedding model of one run: given, or loaded from ``model_path`` only once something is embedded."""

    def __init__(self, embedder: Embedder | None, model_path: str | Path | None, batch_size: int) -> None:
        self._embedder = embedder
        self._batch_size = batch_size
        self.folder: Path | None = None if model_path is None else configured_model_path(model_path)[0]
        if embedder is not None and embedder.path.is_dir():
            self.folder = embedder.path
        self.sha256 = embedder.sha256 if embedder is not None else expected_model_sha256(model_path)

    @property
    def loaded(self) -> Embedder | None:
        return self._embedder

    def get(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.folder, self._batch_size)
        return self._embedder

    def word_pieces(self) -> WordPieces:
        """The tokenizer that caps passages: the model's own (a fake model without one: the packaged one's)."""
        return WordPieces(str(self.folder) if self.folder is not None else None)


def _update(paths: list[Path], index_dir: Path, chunking: dict[str, Any], dense_kind: str,
            say: Callable[[str], Any], run_model: _Model, progress: bool | None,
            started: float, vector_store: VectorStore | None, ray: str | None,
            on_progress: Callable[[str, int, int], Any] | None = None, sentences: bool = True) -> UpdateReport:
    for path in paths:
        if not path.exists():
            raise InputError(f"{path} does not exist")

    index_dir.parent.mkdir(parents=True, exist_ok=True)
    with versions.writer_lock(index_dir):
        versions.adopt_plain_folder(index_dir)
        for name, size in versions.remove_stale_builds(index_dir):
            say(f"removed {name}, the unfinished build of an ingest that was killed ({size / 1e6:.1f} MB)")
        model_sha = run_model.sha256
        prev, reuse_passages, reuse_vectors, reason = _previous(index_dir, chunking, model_sha, say)
        if vector_store is None:
            vector_store = store_for(prev.manifest) if prev is not None else FaissStore()
        vector_store.prepare(index_dir, prev.manifest if prev is not None else None, say)
        sources, skipped = _collect(paths, prev, reuse_passages, chunking, run_model.word_pieces(), say, progress,
                                    on_progress)
        if not sources:
            where = ", ".join(str(p) for p in paths)
            raise NothingIngested(
                f"nothing to index in {where}: " + (f"all {_n(len(skipped), 'file')} skipped"
                                                    if skipped else "no supported files found"))
        present = {str(s.file.resolve()) for s in sources}  # once: per entry it made re-ingests quadratic
        removed = tuple(sorted(e["path"] for src, e in (prev.entries.items() if prev else []) if src not in present))
        unchanged = tuple(s.document.path for s in sources if s.status == "unchanged")  # type: ignore[union-attr]
        new = tuple(s.document.path for s in sources if s.status == "new")  # type: ignore[union-attr]
        changed = tuple(s.document.path for s in sources if s.status == "changed")  # type: ignore[union-attr]
        documents = [s.document for s in sources if s.document is not None]
        passages = [p for s in sources for p in (s.passages or [])]
        common = dict(index_dir=index_dir, documents=len(documents), passages=len(passages), new=new,
                      changed=changed, removed=removed, unchanged=unchanged, skipped=tuple(skipped))
        if prev is not None and reuse_vectors and not new and not changed and not removed \
                and prev.manifest.dense.get("requested") == dense_kind and vector_store.holds(prev.manifest) \
                and prev.manifest.sentence_vectors == sentences and prev.manifest.fusion is not None \
                and [e["source"] for e in prev.manifest.documents] \
                == [str(s.file.resolve()) for s in sources]:
            return UpdateReport(version=prev.manifest.version, up_to_date=True, fusion=prev.manifest.fusion,
                                seconds=time.perf_counter() - started, **common)  # type: ignore[arg-type]

        cache = prev if prev is not None and reuse_vectors else None
        doc_by_id = {d.doc_id: d for d in documents}
        p_texts = [dense_text(p) for p in passages]
        s_texts, s_offsets = sentence_texts(doc_by_id, passages) if sentences \
            else ([], np.zeros(len(passages) + 1, dtype=np.int64))
        # Progress counts passages to embed; each one's share of the work includes its sentences.
        new_passages = count_missing(p_texts, cache.passage_rows if cache else {})
        work = [0, new_passages + count_missing(s_texts, cache.sentence_rows if cache else {})]

        def report_embedding() -> None:
            if on_progress is not None:
                on_progress("embedding", new_passages * work[0] // max(1, work[1]), new_passages)

        def embed(texts: Sequence[str], desc: str) -> np.ndarray:
            if on_progress is not None and ray is None:
                # Slices, so progress moves and a question's embedding waits for one slice at most.
                parts: list[np.ndarray] = []
                for lo in range(0, len(texts), EMBED_SLICE):
                    parts.append(embed_all(texts[lo:lo + EMBED_SLICE], desc))
                    work[0] += len(parts[-1])
                    report_embedding()
                joined: np.ndarray = np.concatenate(parts) if parts else embed_all(texts, desc)
                return joined
            return embed_all(texts, desc)

        def embed_all(texts: Sequence[str], desc: str) -> np.ndarray:
            if ray is not None:
                from footnote.index.ray_embed import embed_for_index

                return embed_for_index(texts, ray, run_model.folder, model_sha, desc, say)
            return run_model.get().embed(texts, progress=progress, desc=desc)

        if cache is not None:
            dim = cache.manifest.dim
        else:
            dim = run_model.get().dim
        report_embedding()
        p_vecs, p_new = gather_vectors(p_texts,
                                       cache.passage_rows if cache else {},
                                       cache.passage_vectors if cache else None,
                                       embed, dim, "embedding passages")
        s_vecs, s_new = gather_vectors(s_texts, cache.sentence_rows if cache else {},
                                       cache.sentence_vectors if cache else None,
                                       embed, dim, "embedding sentences")
        model = run_model.loaded.describe() if run_model.loaded else dict(cache.manifest.model)  # type: ignore[union-attr]
        embedded_docs = {passages[i].doc_id for i in p_new}
        embedded_docs |= {passages[int(np.searchsorted(s_offsets, i, side="right")) - 1].doc_id for i in s_new}

        fit_started = time.perf_counter()
        fusion, refit = _fusion(prev if cache is not None else None, doc_by_id, passages, p_vecs, s_vecs, s_offsets,
                                sentences, lambda texts: embed(texts, "fitting fusion"))
        fit_seconds = time.perf_counter() - fit_started
        name, tmp = versions.new_build_folder(index_dir)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        uploads = versions.uploads_dir(index_dir).resolve()
        published = False
        try:
            manifest = Manifest(
                version=name, created=now,
                model={**model, "sha256": model_sha}, chunking=chunking,
                bm25={"library": "bm25s", "method": "lucene", "k1": 1.5, "b": 0.75,
                      "tokens": "nfkd-fold, \\w\\w+, bm25s english stop words, snowball english"},
                counts={"documents": len(documents), "passages": len(passages), "sentences": len(s_texts)},
                sentence_vectors=sentences, fusion=fusion,
                documents=[
                    {"doc_id": s.document.doc_id, "path": s.document.path, "source": str(s.file.resolve()),  # type: ignore[union-attr]
                     "root": str(s.root.resolve()), "sha256": s.sha256, "passages": len(s.passages or []),
                     "added": _added(prev, s, now)}
                    for s in sources
                ],
                # The paths given (the managed uploads folder apart), so the server can ingest them again.
                sources=[str(p.resolve()) for p in paths if p.resolve() != uploads],
            )
            write_version(tmp, manifest, documents, passages, p_vecs, s_vecs, s_offsets, vector_store, index_dir,
                          dense_kind, say)
            old = versions.current_version(index_dir)
            versions.publish(index_dir, tmp, name)
            published = True
        finally:
            if not published:
                shutil.rmtree(tmp, ignore_errors=True)
        versions.collect_garbage(index_dir, keep={name, *([old] if old else [])})
        vector_store.retire(index_dir, say)
        for path in removed:
            say(f"removed {path}")
        return UpdateReport(
            version=name, embedded_documents=tuple(sorted(doc_by_id[d].path for d in embedded_docs)),
            embedded_passages=len(p_new), embedded_sentences=len(s_new),
            reused_passages=len(passages) - len(p_new), rebuild_reason=reason,
            fusion=fusion, fusion_refit=refit, fit_seconds=fit_seconds,
            seconds=time.perf_counter() - started, **common)  # type: ignore[arg-type]


def _added(prev: Previous | None, src: _Source, now: str) -> str:
    """When the document first entered the index: kept from the previous version, else now."""
    entry = prev.entries.get(str(src.file.resolve())) if prev is not None else None
    return str(entry.get("added") or now) if entry is not None else now

def _fusion(prev: Previous | None, documents: dict[str, Document], passages: list[Passage], p_vecs: np.ndarray,
            s_vecs: np.ndarray, s_offsets: np.ndarray, sentences: bool,
            embed: Callable[[Sequence[str]], np.ndarray]) -> tuple[FusionFit, bool]:
    """The fusion for this version: the previous fit while the corpus has not changed enough, else a new one."""
    from footnote.index.fit import fit_fusion, needs_refit

    previous = prev.manifest.fusion if prev is not None else None
    if prev is not None and previous is not None:
        now = {text_key(dense_text(p)) for p in passages}
        # Changes add up across updates: many small ones re-fit once they matter together.
        changed = previous.changed_since_fit + len(now.symmetric_difference(prev.passage_rows))
        if not needs_refit(previous, len(passages), changed):
            return previous.replace(changed_since_fit=changed), False
    return fit_fusion(documents, passages, p_vecs, embed, sentence_vectors=s_vecs if sentences else None,
                      sentence_offsets=s_offsets), True


def _previous(index_dir: Path, chunking: dict[str, Any], model_sha: str,
              say: Callable[[str], Any]) -> tuple[Previous | None, bool, bool, str | None]:
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
             word_pieces: WordPieces, say: Callable[[str], Any], progress: bool | None,
             on_progress: Callable[[str, int, int], Any] | None = None
             ) -> tuple[list[_Source], list[tuple[str, str]]]:
    """Every file to index, parsed and chunked unless the previous version already has it unchanged."""
    from tqdm import tqdm

    from footnote.ingest import chunk, discover, parse

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

    sources: list[_Source] = []
    by_id: dict[str, Path] = {}

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
    show = len(found) > PROGRESS_MIN_FILES if progress is None else progress
    for done, (file, root) in enumerate(tqdm(found, desc="parsing", unit="file", disable=not show,
                                             file=sys.stderr, mininterval=0.5, leave=False)):
        if on_progress is not None:
            on_progress("parsing", done, len(found))
        sha = hashes.get(file)
        if sha is None:
            continue
        if keeper[sha] != file:
            skip(file, f"identical to {keeper[sha]}")
            continue
        src = _Source(file, root, sha)
        entry = prev.entries.get(str(file.resolve())) if prev is not None else None
        if reuse and entry is not None and entry["sha256"] == sha and entry["root"] == str(root.resolve()) \
                and entry["doc_id"] in prev.documents:  # type: ignore[union-attr]
            src.document = prev.documents[entry["doc_id"]]  # type: ignore[union-attr]
            src.passages = list(prev.passages.get(entry["doc_id"], []))  # type: ignore[union-attr]
            src.status = "unchanged"
        else:
            try:
                src.document = parse(file, root)
                src.passages = chunk(src.document, chunking["chunk_tokens"], chunking["overlap"], word_pieces)
            except DocumentError as exc:
                skip(file, exc.reason)
                continue
            if not src.passages:
                skip(file, "no text to index")
                continue
            src.status = "changed" if entry is not None else "new"
        doc_id = src.document.doc_id
        if doc_id in by_id:
            skip(file, f"same document id {doc_id!r} as {by_id[doc_id]}; rename one of them")
            continue
        by_id[doc_id] = file
        sources.append(src)
    return sources, skipped


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks (the content identity of corpus and uploaded files)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
