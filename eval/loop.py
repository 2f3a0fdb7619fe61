"""The eval loop: every question through the answerer and each retrieval mode a user would call, timed.

Programmatic use (a tuning sweep calls these)::

    from footnote.eval.assemble import flat_metrics
    from footnote.eval.loop import evaluate_index
    report = evaluate_index(index, questions, modes=("hybrid",), fusion=FusionParams(k0=20),
                            answer_settings=AnswerSettings(abstain_below=0.4))
    flat_metrics(report)  # {"hybrid/hit@5": 0.93, ..., "answers/answer_found": 0.88, ...}

Per question: the answerer answers it (timed); its ``Answer.query`` (the standalone rewrite of a follow-up)
is what each retrieval mode then searches, so follow-ups are measured as the system really searches them.
Retrieval metrics score the order the retriever returned.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from footnote.eval import metrics as m
from footnote.eval.assemble import assemble
from footnote.eval.judge import failures, judge, score_answer
from footnote.index.hits import Mode

if TYPE_CHECKING:
    from footnote.eval.dataset import Question
    from footnote.index.hybrid import FusionParams
    from footnote.index.load import Index
    from footnote.ingest.models import Passage
    from footnote.service.answering.answerer import AnswerSettings
    from footnote.settings import Settings

MODES = tuple(Mode)
DEPTH = 100  # passages retrieved per query and mode (recall@100 needs 100)
SHOWN_HITS = 10  # hits kept per question and mode in the report


def evaluate_index(
    index: Index,
    questions: Sequence[Question],
    *,
    modes: Sequence[str] = MODES,
    answers: bool = True,
    answer_settings: AnswerSettings | None = None,
    fusion: FusionParams | None = None,
    top_k: int = 5,
    depth: int = DEPTH,
    config: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    matching: str = "plain",
) -> dict[str, Any]:
    """The full report (config, per-mode retrieval metrics, answer metrics, per-question records).

    ``matching`` "squad" compares answers with SQuAD's normalisation (``judge.score_answer``).
    """
    from footnote.service.answering.answerer import Answerer
    from footnote.service.models import AnswerRequest, Turn

    modes = list(dict.fromkeys(Mode.parse(m) for m in modes))
    answerer = Answerer(index, answer_settings, fusion)
    retrievers = {mode: index.retriever(mode, fusion=fusion if mode is Mode.HYBRID else None) for mode in modes}
    by_doc: dict[str, list[Passage]] = {}
    for p in index.passages:
        by_doc.setdefault(p.doc_id, []).append(p)
    index.embed_query("warm up")  # load the model before anything is timed

    records: list[dict[str, Any]] = []
    answer_ms: list[float] = []
    search_ms: dict[str, list[float]] = {mode: [] for mode in modes}
    for i, q in enumerate(questions):
        history = [Turn.model_validate({"role": r, "content": c}) for r, c in q.history]
        request = AnswerRequest(question=q.question, history=history, top_k=top_k)
        judged = judge(q, index, by_doc)
        record: dict[str, Any] = {**q.to_dict(), "relevant": judged.grades, "answer": None, "retrieval": {}}
        if answers:
            started = time.perf_counter()
            answer = answerer.answer(request)
            answer_ms.append((time.perf_counter() - started) * 1000)
            record["answer"] = {**score_answer(q, answer, judged, index, matching), "latency_ms": answer_ms[-1]}
            query = answer.query
        else:
            query = answerer.standalone_query(request)
        record["query"] = query
        # The index caches query vectors (the answer above filled it): time the embedding apart, uncached,
        # and charge it to the modes that embed.
        started = time.perf_counter()
        vector = index.embedder.embed_query(query)
        embed_ms = (time.perf_counter() - started) * 1000
        for mode in modes:
            started = time.perf_counter()
            hits = retrievers[mode].search(query, depth, query_vector=None if mode is Mode.BM25 else vector)
            search_ms[mode].append((time.perf_counter() - started) * 1000 + (0.0 if mode is Mode.BM25 else embed_ms))
            ranking = [h.passage.id for h in hits]
            record["retrieval"][mode] = {
                "rank": m.first_relevant_rank(ranking, judged.grades),
                # The order the retriever returned, as strictly decreasing scores for the metrics.
                "run": {pid: float(len(ranking) - r) for r, pid in enumerate(ranking)},
                "hits": [{"passage_id": h.passage.id, "doc_id": h.passage.doc_id, "score": float(h.score),
                          "grade": judged.grades.get(h.passage.id, 0), "text": h.passage.text}
                         for h in hits[:SHOWN_HITS]],
            }
        record["failures"] = failures(record, modes)
        records.append(record)
        if progress:
            progress(i + 1, len(questions))
    return assemble(records, modes, answer_ms, search_ms, config or {}, index, top_k, depth)


def index_folder(folder: Path, index_dir: Path, settings: Settings) -> Path:
    """Ingest and index ``folder`` into ``index_dir`` with ``settings``, quietly (a scratch index for an eval)."""
    from footnote.index.build import update_from_settings

    update_from_settings([folder], settings, index_dir=index_dir, echo=lambda line: None)
    return index_dir
