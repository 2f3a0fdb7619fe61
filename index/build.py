"""``footnote ingest``: bring the index in line with a set of files, doing only the work that changed.

The index mirrors the given paths: new files are added, changed files (sha256 of their bytes) replace
their passages, files no longer present are removed, unchanged files are neither parsed nor embedded.
Embeddings are reused by text, so only passages and sentences whose text is new get embedded. A change
of chunk settings re-chunks everything; a change of model (or index format) re-embeds everything.
Each run that changes something writes a new version folder and switches to it atomically
(``index.versions``); a run that changes nothing writes nothing.

One run, holding the index's writer lock: plan (``index.plan``: the previous version, the files and what
changed) -> embed (the texts no earlier version embedded) -> fit (the hybrid fusion, ``index.fit``) ->
publish (write the version folder, switch to it, retire what no kept version uses).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from footnote.errors import InputError
from footnote.index import pages, versions
from footnote.index.embed import Embedder, configured_model_path, expected_model_sha256, get_embedder
from footnote.index.hybrid import FusionFit
from footnote.index.lexical import BM25_RECIPE
from footnote.index.manifest import Manifest
from footnote.index.plan import OnProgress, Plan, Say, plan
from footnote.index.text import dense_text
from footnote.index.vectors import VectorStore, choose_store
from footnote.index.writer import (
    Previous,
    count_missing,
    gather_vectors,
    sentence_texts,
    text_key,
    write_version,
)
from footnote.ingest.guards import GuardLimits
from footnote.ingest.ocr import OcrOptions
from footnote.ingest.tokens import WordPieces
from footnote.ingest.worker import ParseLimits
from footnote.settings import Settings

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


def update_from_settings(paths: Sequence[str | Path], settings: Settings, *, index_dir: str | Path | None = None,
                         echo: Say | None = None, progress: bool | None = None,
                         on_progress: OnProgress | None = None, embedder: Embedder | None = None,
                         sentences: bool = True, keep_failed: bool = False) -> UpdateReport:
    """``update_index`` with every option ``settings`` holds (passages, model, vector store, dense index, Ray),
    into ``index_dir`` (None: the settings' own). The other arguments are the run's own, as ``update_index``'s."""
    return update_index(
        paths, settings.index_dir if index_dir is None else index_dir, chunk_tokens=settings.chunk_tokens,
        overlap=settings.chunk_overlap, model_path=settings.model_path, embed_batch_size=settings.embed_batch_size,
        dense_kind=settings.dense_index, store=choose_store(settings.store, settings.milvus_uri),
        ray=settings.ray_address, echo=echo, progress=progress, on_progress=on_progress, embedder=embedder,
        sentences=sentences, ocr=ocr_options(settings), keep_failed=keep_failed, limits=parse_limits(settings))


def parse_limits(settings: Settings) -> ParseLimits:
    """The parse workers' limits and the checks before expanding a file (``FOOTNOTE_PARSE_*``, ``_ZIP_*``,
    ``_PDF_*``)."""
    return ParseLimits(
        workers=settings.parse_workers, max_mb=settings.parse_max_mb, cpu_seconds=settings.parse_cpu_seconds,
        wall_seconds=settings.parse_wall_seconds, max_output_mb=settings.parse_max_output_mb,
        guards=GuardLimits(zip_max_mb=settings.zip_max_mb, zip_max_ratio=settings.zip_max_ratio,
                           pdf_max_pages=settings.pdf_max_pages, pdf_max_stream_mb=settings.pdf_max_stream_mb,
                           pdf_max_total_mb=settings.pdf_max_total_mb))


def ocr_options(settings: Settings) -> OcrOptions:
    """The OCR of scanned PDF pages that ``settings`` ask for."""
    return OcrOptions(enabled=settings.ocr, language=settings.ocr_language, max_pages=settings.ocr_max_pages)


def update_index(
    paths: Sequence[str | Path],
    index_dir: str | Path,
    *,
    chunk_tokens: int = 160,
    overlap: int = 0,
    echo: Say | None = None,
    embedder: Embedder | None = None,
    model_path: str | Path | None = None,
    embed_batch_size: int = 64,
    dense_kind: str = "auto",
    progress: bool | None = None,
    store: VectorStore | None = None,
    ray: str | None = None,
    on_progress: OnProgress | None = None,
    sentences: bool = True,
    ocr: OcrOptions | None = None,
    keep_failed: bool = False,
    limits: ParseLimits | None = None,
) -> UpdateReport:
    """Make the index at ``index_dir`` hold exactly the supported files under ``paths``.

    The defaults are ``footnote.settings.Settings``'s (``update_from_settings`` passes them all).
    ``embedder``: the model to embed with (default: the one in ``model_path``, None for the packaged one).
    ``echo`` gets one line per skipped file (``skipped <path>: <reason>``) and per notable event.
    ``dense_kind`` is auto|flat|hnsw (auto: by size). ``progress``: None shows tqdm bars only for large
    inputs. Raises ``InputError`` for a missing path, ``NothingIngested`` when no document results.
    ``store``: where the passage vectors go (``index.vectors``; None: where the current version keeps them,
    FAISS for a new index). ``ray``: a Ray address to embed on (``local`` starts one; ``index.ray_embed``).
    The managed uploads folder beside the index (``versions.uploads_dir``) is always ingested with ``paths``,
    so neither an upload nor a CLI run drops the other's documents. ``on_progress(stage, done, total)`` is
    called with ("parsing", files read, files) and ("embedding", passages embedded, passages to embed)
    as work advances (a passage's share of the work includes its sentences). ``ocr``: how scanned PDF
    pages are OCRed (None: not at all; ``update_from_settings`` passes the settings' ``FOOTNOTE_OCR*``).
    ``keep_failed``: a changed file that no longer parses keeps its indexed version (``index.plan.plan``).
    ``limits``: the parse workers' (``ingest.worker``; None: the defaults, two workers).
    """
    started = time.perf_counter()
    say: Say = echo or (lambda line: None)
    if ray is not None:
        from footnote.index.ray_embed import check_address

        ray = check_address(ray)
    chunking = {"chunk_tokens": int(chunk_tokens), "overlap": int(overlap), "chunker": CHUNKER}
    run_model = _Model(embedder, model_path, embed_batch_size)
    index_dir = Path(index_dir)
    targets = [Path(p) for p in paths]
    uploads = versions.uploads_dir(index_dir)
    if uploads.is_dir() and uploads.resolve() not in {t.resolve() for t in targets}:
        targets.append(uploads)
    for path in targets:
        if not path.exists():
            raise InputError(f"{path} does not exist")

    index_dir.parent.mkdir(parents=True, exist_ok=True)
    with versions.writer_lock(index_dir):
        versions.adopt_plain_folder(index_dir)
        for name, size in versions.remove_stale_builds(index_dir):
            say(f"removed {name}, the unfinished build of an ingest that was killed ({size / 1e6:.1f} MB)")
        planned = plan(targets, index_dir, chunking, run_model.sha256, run_model.word_pieces, store, say, progress,
                       on_progress, ocr, keep_failed, limits)
        common = dict(index_dir=index_dir, documents=len(planned.documents), passages=len(planned.passages),
                      new=planned.paths_of("new"), changed=planned.paths_of("changed"), removed=planned.removed,
                      unchanged=planned.paths_of("unchanged"), skipped=tuple(planned.skipped))
        if planned.up_to_date(dense_kind, sentences):
            assert planned.prev is not None
            return UpdateReport(version=planned.prev.manifest.version, up_to_date=True,
                                fusion=planned.prev.manifest.fusion, seconds=time.perf_counter() - started,
                                **common)  # type: ignore[arg-type]
        embedding = _Embedding(run_model, ray, progress, on_progress, say)
        vectors = _embed(planned, embedding, sentences)
        fit_started = time.perf_counter()
        fusion, refit = _fit(planned, vectors, sentences, embedding)
        fit_seconds = time.perf_counter() - fit_started
        version = _publish(index_dir, planned, vectors, fusion, sentences, dense_kind, say)
        passages = planned.passages
        return UpdateReport(
            version=version, embedded_documents=vectors.embedded_documents(planned),
            embedded_passages=len(vectors.passages_embedded), embedded_sentences=len(vectors.sentences_embedded),
            reused_passages=len(passages) - len(vectors.passages_embedded), rebuild_reason=planned.reason,
            fusion=fusion, fusion_refit=refit, fit_seconds=fit_seconds,
            seconds=time.perf_counter() - started, **common)  # type: ignore[arg-type]


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


# --- embed -------------------------------------------------------------------------------------------------

class _Embedding:
    """How one run embeds texts: on Ray, or with the run's model; in slices when progress is observed, so it
    moves and a question's embedding waits for one slice at most."""

    def __init__(self, model: _Model, ray: str | None, progress: bool | None, on_progress: OnProgress | None,
                 say: Say) -> None:
        self.model, self.ray, self.progress, self.on_progress, self.say = model, ray, progress, on_progress, say
        self.passages = 0  # passages to embed, reported as the total
        self.work = 0  # texts to embed, passages and sentences
        self.done = 0  # texts embedded so far

    def expect(self, passages: int, work: int) -> None:
        """Progress counts ``passages``; each one's share of the work includes its sentences."""
        self.passages, self.work = passages, work
        self._report()

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress("embedding", self.passages * self.done // max(1, self.work), self.passages)

    def __call__(self, texts: Sequence[str], desc: str) -> np.ndarray:
        if self.on_progress is None or self.ray is not None:
            return self._all(texts, desc)
        parts: list[np.ndarray] = []
        for lo in range(0, len(texts), EMBED_SLICE):
            parts.append(self._all(texts[lo:lo + EMBED_SLICE], desc))
            self.done += len(parts[-1])
            self._report()
        joined: np.ndarray = np.concatenate(parts) if parts else self._all(texts, desc)
        return joined

    def _all(self, texts: Sequence[str], desc: str) -> np.ndarray:
        if self.ray is not None:
            from footnote.index.ray_embed import embed_for_index

            return embed_for_index(texts, self.ray, self.model.folder, self.model.sha256, desc, self.say)
        return self.model.get().embed(texts, progress=self.progress, desc=desc)


@dataclass(frozen=True)
class _Vectors:
    """The vectors of the version being built, and which of them this run embedded."""

    model: dict[str, Any]  # the manifest's model section
    passage_vectors: np.ndarray
    sentence_vectors: np.ndarray
    sentence_offsets: np.ndarray
    passages_embedded: list[int]  # positions in the passages
    sentences_embedded: list[int]  # positions in the sentence vectors

    def embedded_documents(self, planned: Plan) -> tuple[str, ...]:
        passages = planned.passages
        docs = {passages[i].doc_id for i in self.passages_embedded}
        docs |= {passages[int(np.searchsorted(self.sentence_offsets, i, side="right")) - 1].doc_id
                 for i in self.sentences_embedded}
        paths = {d.doc_id: d.path for d in planned.documents}
        return tuple(sorted(paths[d] for d in docs))


def _embed(planned: Plan, embed: _Embedding, sentences: bool) -> _Vectors:
    """Every passage's and sentence's vector: the previous version's where the same text was embedded, else new."""
    cache = planned.cache
    passages = planned.passages
    p_texts = [dense_text(p) for p in passages]
    s_texts, s_offsets = sentence_texts({d.doc_id: d for d in planned.documents}, passages) if sentences \
        else ([], np.zeros(len(passages) + 1, dtype=np.int64))
    p_rows = cache.passage_rows if cache else {}
    s_rows = cache.sentence_rows if cache else {}
    new_passages = count_missing(p_texts, p_rows)
    dim = cache.manifest.dim if cache is not None else embed.model.get().dim
    embed.expect(new_passages, new_passages + count_missing(s_texts, s_rows))
    p_vecs, p_new = gather_vectors(p_texts, p_rows, cache.passage_vectors if cache else None, embed, dim,
                                   "embedding passages")
    s_vecs, s_new = gather_vectors(s_texts, s_rows, cache.sentence_vectors if cache else None, embed, dim,
                                   "embedding sentences")
    loaded = embed.model.loaded
    model = loaded.describe() if loaded is not None else dict(cache.manifest.model)  # type: ignore[union-attr]
    return _Vectors({**model, "sha256": embed.model.sha256}, p_vecs, s_vecs, s_offsets, p_new, s_new)


# --- fit ---------------------------------------------------------------------------------------------------

def _fit(planned: Plan, vectors: _Vectors, sentences: bool, embed: _Embedding) -> tuple[FusionFit, bool]:
    """The fusion for this version: the previous fit while the corpus has not changed enough, else a new one."""
    from footnote.index.fit import fit_fusion, needs_refit

    prev: Previous | None = planned.cache
    passages = planned.passages
    previous = prev.manifest.fusion if prev is not None else None
    if prev is not None and previous is not None:
        now = {text_key(dense_text(p)) for p in passages}
        # Changes add up across updates: many small ones re-fit once they matter together.
        changed = previous.changed_since_fit + len(now.symmetric_difference(prev.passage_rows))
        # Documents, not requests: a burst of junk uploads is a few documents among many, and must not re-fit
        # (and so switch) everyone's ranking; docs/architecture.md, Hybrid fusion.
        documents_changed = previous.documents_changed_since_fit + len(planned.paths_of("new")) \
            + len(planned.paths_of("changed")) + len(planned.removed)
        if not needs_refit(previous, len(passages), changed, documents=len(planned.documents),
                           documents_changed=documents_changed):
            return previous.replace(changed_since_fit=changed, documents_changed_since_fit=documents_changed), False
    documents = {d.doc_id: d for d in planned.documents}
    return fit_fusion(documents, passages, vectors.passage_vectors, lambda texts: embed(texts, "fitting fusion"),
                      sentence_vectors=vectors.sentence_vectors if sentences else None,
                      sentence_offsets=vectors.sentence_offsets), True


# --- publish -----------------------------------------------------------------------------------------------

def _publish(index_dir: Path, planned: Plan, vectors: _Vectors, fusion: FusionFit, sentences: bool,
             dense_kind: str, say: Say) -> str:
    """Write the new version beside the current one, switch to it, and keep only the two; its name."""
    name, tmp = versions.new_build_folder(index_dir)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    uploads = versions.uploads_dir(index_dir).resolve()
    documents, passages = planned.documents, planned.passages
    published = False
    try:
        manifest = Manifest(
            version=name, created=now, model=vectors.model, chunking=planned.chunking, bm25=dict(BM25_RECIPE),
            counts={"documents": len(documents), "passages": len(passages),
                    "sentences": len(vectors.sentence_vectors)},
            sentence_vectors=sentences, fusion=fusion,
            documents=[
                {"doc_id": s.document.doc_id, "path": s.document.path, "source": str(s.file.resolve()),
                 "root": str(s.root.resolve()), "sha256": s.sha256, "passages": len(s.passages or []),
                 "added": _added(planned.prev, s.file, now)}
                for s in planned.sources if s.document is not None
            ],
            # The paths given (the managed uploads folder apart), so the server can ingest them again.
            sources=[str(p.resolve()) for p in planned.paths if p.resolve() != uploads],
        )
        write_version(tmp, manifest, documents, passages, vectors.passage_vectors, vectors.sentence_vectors,
                      vectors.sentence_offsets, planned.store, index_dir, dense_kind, say)
        for source in planned.sources:  # page maps first: a reader of the new version finds them
            if source.document is not None and source.document.page_map is not None:
                pages.write(index_dir, source.document.sha256, source.document.page_map)
        old = versions.current_version(index_dir)
        versions.publish(index_dir, tmp, name)
        published = True
    finally:
        if not published:
            shutil.rmtree(tmp, ignore_errors=True)
    keep = {name, *([old] if old else [])}
    planned.store.retire(index_dir, keep, say)
    versions.collect_garbage(index_dir, keep=keep)
    previous = planned.prev.documents.values() if planned.prev else ()
    pages.keep_only(index_dir, {d.sha256 for d in documents} | {d.sha256 for d in previous})
    for path in planned.removed:
        say(f"removed {path}")
    return name


def _added(prev: Previous | None, file: Path, now: str) -> str:
    """When the document first entered the index: kept from the previous version, else now."""
    entry = prev.entries.get(str(file.resolve())) if prev is not None else None
    return str(entry.get("added") or now) if entry is not None else now
