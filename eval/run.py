"""Run an expected-answer set through the index and the answerer a user would call, and measure both.

Programmatic use (a tuning sweep calls these)::

    from footnote.eval.run import evaluate_index, flat_metrics
    report = evaluate_index(index, questions, modes=("hybrid",), fusion=FusionParams(k0=20),
                            answer_settings=AnswerSettings(abstain_below=0.4))
    flat_metrics(report)  # {"hybrid/hit@5": 0.93, ..., "answers/answer_found": 0.88, ...}

Per question: the answerer answers it (timed); its ``Answer.query`` (the standalone rewrite of a follow-up)
is what each retrieval mode then searches, so follow-ups are measured as the system really searches them.
A passage is relevant when it holds an evidence snippet (grade 2) or at least half of one that runs over
a passage boundary (grade 1). Retrieval metrics score the order the retriever returned.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from footnote.errors import InputError
from footnote.eval import metrics as m
from footnote.eval import split
from footnote.eval.confidence import answer_metrics, split_metrics
from footnote.eval.dataset import BLIND_SET, WIKI_SET, Question, load_sets
from footnote.index.hits import Mode
from footnote.index.hybrid import fusion_from_settings
from footnote.service.answering.answerer import AnswerSettings

if TYPE_CHECKING:
    from footnote.index.hybrid import FusionParams
    from footnote.index.store import Index
    from footnote.index.vectors import VectorStore
    from footnote.ingest.models import Passage
    from footnote.service.models import Answer
    from footnote.settings import Settings

MODES = tuple(Mode)
DEPTH = 100  # passages retrieved per query and mode (recall@100 needs 100)
SHOWN_HITS = 10  # hits kept per question and mode in the report
REPORT_VERSION = 1


@dataclass(frozen=True)
class Judged:
    """Where one question's evidence stands in the index: its spans and the graded relevant passages."""

    spans: tuple[tuple[int, int], ...]
    grades: dict[str, int]


def judge(question: Question, index: Index, by_doc: dict[str, list[Passage]]) -> Judged:
    """The relevant passages of ``question`` (empty for unanswerable ones)."""
    if not question.answerable or not question.evidence:
        return Judged((), {})
    doc = index.documents.get(question.doc or "")
    spans: list[tuple[int, int]] = []
    if doc is not None:
        for snippet in question.evidence:
            spans.extend(m.locate(snippet, doc.text))
    grades: dict[str, int] = {}
    if spans and doc is not None:
        for p in by_doc.get(doc.doc_id, []):
            grade = m.passage_grade((p.start, p.end), spans)
            if grade:
                grades[p.id] = grade
    else:  # the snippet is not in the named document: fall back to passage text anywhere
        for passages in by_doc.values():
            for p in passages:
                grade = m.text_grade(p.text, question.evidence)
                if grade:
                    grades[p.id] = grade
    return Judged(tuple(spans), grades)


def score_answer(question: Question, answer: Answer, judged: Judged, index: Index,
                 matching: str = "plain") -> dict[str, Any]:
    """The answer metrics of one question, and the footnotes as the report shows them.

    ``matching`` "squad" compares answers with SQuAD's normalisation (and only inside the quotes).
    """
    def found(texts: list[str]) -> bool:
        if matching == "squad":
            return m.squad_answer_found(question.answers, texts)
        return m.answer_found(question.answers, texts)

    footnotes = []
    for note in answer.footnotes:
        doc = index.documents.get(note.doc_id)
        own = question.answerable and (
            found([note.quote]) or (note.doc_id == question.doc and m.evidence_quoted(judged.spans,
                                                                                     [(note.start, note.end)])))
        footnotes.append({
            "n": note.n, "quote": note.quote, "doc_id": note.doc_id, "start": note.start, "end": note.end,
            "citations": [c.text for c in note.citations], "confidence": note.confidence,
            "verbatim": m.is_verbatim(note.quote, doc.text if doc else None, note.start, note.end),
            "relevant": bool(own),
        })
    texts = [n.quote for n in answer.footnotes]
    if matching != "squad":
        texts += [answer.answer] + [c.text for n in answer.footnotes for c in n.citations]
    quotes = [(n.start, n.end) for n in answer.footnotes if n.doc_id == question.doc]
    return {
        "grounded": answer.grounded,
        "confidence": answer.confidence,
        "text": answer.answer,
        "footnotes": footnotes,
        "answer_found": question.answerable and answer.grounded and found(texts),
        "evidence_quoted": question.answerable and m.evidence_quoted(judged.spans, quotes),
        "all_verbatim": all(f["verbatim"] for f in footnotes),
    }


def _failures(record: dict[str, Any], modes: Sequence[str]) -> list[str]:
    out: list[str] = []
    ans = record.get("answer")
    if record["answerable"]:
        if not record["relevant"]:
            out.append("evidence not found in any passage")
        for mode in modes:
            rank = record["retrieval"][mode]["rank"]
            if rank is None or rank > 5:
                out.append(f"{mode}: evidence not in top 5")
        if ans is not None:
            if not ans["grounded"]:
                out.append("abstained")
            elif not ans["answer_found"]:
                out.append("answer not found")
            if ans["grounded"] and not ans["evidence_quoted"]:
                out.append("evidence not quoted")
    elif ans is not None and ans["grounded"]:
        out.append("answered an unanswerable question")
    if ans is not None and not ans["all_verbatim"]:
        out.append("a quote is not verbatim")
    return out


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
    """The full report (config, per-mode retrieval metrics, answer metrics, per-question records)."""
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
        record["failures"] = _failures(record, modes)
        records.append(record)
        if progress:
            progress(i + 1, len(questions))
    return assemble(records, modes, answer_ms, search_ms, config or {}, index, top_k, depth)


def assemble(records: list[dict[str, Any]], modes: Sequence[str], answer_ms: list[float],
             search_ms: dict[str, list[float]], config: dict[str, Any], index: Index, top_k: int,
             depth: int) -> dict[str, Any]:
    answerable = [r for r in records if r["answerable"]]
    retrieval: dict[str, dict[str, float]] = {}
    hit_curve: dict[str, list[float]] = {}
    for mode in modes:
        per_query = {}
        for r in answerable:
            run = r["retrieval"][mode].pop("run")
            per_query[r["id"]] = r["retrieval"][mode]["metrics"] = m.query_metrics(run, r["relevant"])
        retrieval[mode] = m.mean_metrics(per_query.values())
        ranks = [r["retrieval"][mode]["rank"] for r in answerable]
        hit_curve[mode] = [sum(1 for x in ranks if x is not None and x <= k) / max(len(ranks), 1)
                           for k in range(1, 11)]
        retrieval[mode]["latency_p50_ms"] = m.percentile(search_ms[mode], 50)
        retrieval[mode]["latency_p95_ms"] = m.percentile(search_ms[mode], 95)
    if answer_ms:
        config = {**config, "split": {"by": "question", "seed": split.SEED, "heldout_share": split.HELDOUT_SHARE}}
    report: dict[str, Any] = {
        "footnote_eval": REPORT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {
            **config,
            "modes": list(modes),
            "questions": len(records),
            "answerable": len(answerable),
            "with_history": sum(1 for r in records if r["history"]),
            "top_k": top_k,
            "depth": depth,
            "index_version": index.version,
            "chunking": index.manifest.chunking,
            "passages": len(index.passages),
        },
        "retrieval": retrieval,
        "hit_curve": hit_curve,
        "answers": answer_metrics(records) if answer_ms else None,
        "splits": split_metrics(records) if answer_ms else None,
        "by_kind": _by_kind(records, modes),
        "questions": records,
    }
    return report


def _by_kind(records: list[dict[str, Any]], modes: Sequence[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind in sorted({r["kind"] or "-" for r in records}):
        rows = [r for r in records if (r["kind"] or "-") == kind]
        answerable = [r for r in rows if r["answerable"]]
        entry: dict[str, Any] = {"questions": len(rows)}
        if answerable:
            for mode in modes:
                entry[f"{mode}/hit@5"] = sum(r["retrieval"][mode]["metrics"]["hit@5"] for r in answerable) / len(
                    answerable)
        if rows[0]["answer"] is not None:
            if answerable:
                entry["answer_found"] = sum(r["answer"]["answer_found"] for r in answerable) / len(answerable)
            else:
                entry["abstained"] = sum(not r["answer"]["grounded"] for r in rows) / len(rows)
        out[kind] = entry
    return out


def flat_metrics(report: dict[str, Any]) -> dict[str, float | None]:
    """``{"hybrid/hit@5": ..., "answers/answer_found": ...}``: one dict a sweep can tabulate."""
    flat: dict[str, float | None] = {}
    for mode, values in report["retrieval"].items():
        flat.update({f"{mode}/{k}": v for k, v in values.items()})
    for k, v in (report.get("answers") or {}).items():
        flat[f"answers/{k}"] = v
    return flat


def run_eval(sets: Sequence[Path], index_dir: Path, modes: Sequence[str] = MODES, *,
             model_path: str | Path | None = None, store: VectorStore | None = None,
             **kwargs: Any) -> dict[str, Any]:
    """Load the sets (the default set when none) and the index, and evaluate (``evaluate_index``'s options)."""
    from footnote.index.store import load

    questions = load_sets(list(sets))
    index = load(index_dir, model_path=model_path, fusion=kwargs.get("fusion"), store=store)
    config = {"sets": [str(p) for p in sets] or ["(default) eval/sets/default.jsonl"], "index_dir": str(index_dir)}
    return evaluate_index(index, questions, modes=modes, config=config, **kwargs)


def index_folder(folder: Path, index_dir: Path, settings: Settings) -> Path:
    """Ingest and index ``folder`` into ``index_dir`` with ``settings``, quietly (a scratch index for an eval)."""
    from footnote.index.build import update_index

    update_index([folder], index_dir, chunk_tokens=settings.chunk_tokens, overlap=settings.chunk_overlap,
                 model_path=settings.model_path, embed_batch_size=settings.embed_batch_size, echo=lambda line: None)
    return index_dir


def run_on_corpus(sets: Sequence[Path], corpus_dir: Path, modes: Sequence[str], *, settings: Settings,
                  echo: Callable[[str], Any] = lambda line: None) -> dict[str, Any]:
    """Index ``corpus_dir`` in a temporary folder with ``settings`` and evaluate ``sets`` against it."""
    import tempfile

    if not corpus_dir.is_dir():
        raise InputError(f"{corpus_dir}: --corpus needs a folder of documents")
    with tempfile.TemporaryDirectory(prefix="footnote-eval-") as tmp:
        echo(f"indexing {corpus_dir} in a temporary folder")
        report = run_eval(sets, index_folder(corpus_dir, Path(tmp) / "index", settings), modes,
                          model_path=settings.model_path, fusion=fusion_from_settings(settings),
                          answer_settings=AnswerSettings.from_settings(settings))
    report["config"]["index_dir"] = f"(temporary, of {corpus_dir})"
    report["config"]["corpus"] = str(corpus_dir)
    return report


THRESHOLDS = Path(__file__).resolve().parent / "thresholds.json"


def guarded_set(sets: Sequence[Path]) -> str | None:
    """Whose minimums in ``thresholds.json`` a run of ``sets`` is checked against: ``"default"`` (no sets: the
    shipped set), ``"blind"`` (the blind set alone), ``"wiki-topics"`` (that set alone, on its documents), or None
    (any other sets: a user's own have none here)."""
    if not sets:
        return "default"
    if len(sets) == 1:
        for name, path in (("blind", BLIND_SET), ("wiki-topics", WIKI_SET)):
            if Path(sets[0]).resolve() == path.resolve():
                return name
    return None


def guard_lines(report: dict[str, Any], sets: Sequence[Path]) -> list[str]:
    """What ``footnote eval`` prints about the minimums a run of ``sets`` is held to (nothing for a user's sets)."""
    which = guarded_set(sets)
    if which is None:
        return []
    below = check_thresholds(report, which=which)
    verdict = "met" if not below else "BELOW: " + "; ".join(below)
    if which == "default":
        return [f"thresholds (eval/thresholds.json): {verdict}"]
    if which == "wiki-topics" and report["config"].get("corpus") is None:
        return []  # its minimums hold on its own documents (--corpus eval/sets/wiki-topics), not on another index
    return [f"{which} set: nothing was fitted on it, so every column is on unseen questions",
            f"thresholds (eval/thresholds.json, {which}): {verdict}"]


def check_thresholds(report: dict[str, Any], path: Path = THRESHOLDS, which: str = "default") -> list[str]:
    """The minimums of ``thresholds.json`` that ``report`` falls below, as lines (empty: all met).

    The top level holds the shipped set's minimums (``which="default"``); ``"blind"`` is the blind set's, whose
    ``answers`` are over every question (none of it was fitted on).
    """
    limits = json.loads(Path(path).read_text("utf-8"))
    if which != "default":
        limits = limits[which]
    below = []
    for mode, minimums in limits.get("retrieval", {}).items():
        for name, minimum in minimums.items():
            value = report["retrieval"].get(mode, {}).get(name)
            if value is not None and value < minimum:
                below.append(f"{mode} {name} {value:.3f} < {minimum}")
    for name, minimum in limits.get("answers", {}).items():
        value = (report.get("answers") or {}).get(name)
        if value is not None and value < minimum:
            below.append(f"answers {name} {value:.3f} < {minimum}")
    # The reader was fitted on the tune side: its figures are guarded on the held-out side.
    heldout = (report.get("splits") or {}).get("heldout") or {}
    for name, minimum in limits.get("heldout", {}).items():
        value = heldout.get(name)
        if value is None or value < minimum:
            below.append(f"held-out {name} {'n/a' if value is None else f'{value:.3f}'} < {minimum}")
    return below


def read_report(path: Path) -> dict[str, Any]:
    try:
        report = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable report.json ({exc.__class__.__name__})") from exc
    if not isinstance(report, dict) or "footnote_eval" not in report:
        raise InputError(f"{path}: not a report.json written by `footnote eval`")
    return report


def run_cli(sets: list[Path], index_dir: Path, modes: list[str], report_dir: Path | None,
            compare_to: Path | None, beir_dir: Path | None, echo: Callable[[str], Any],
            settings: Settings, store: VectorStore | None = None, squad_file: Path | None = None,
            corpus_dir: Path | None = None) -> dict[str, Any]:
    """What ``footnote eval`` does: evaluate, print the table, write and compare reports.

    ``corpus_dir``: index that folder of documents in a temporary folder (your own index is not touched) and
    evaluate the sets against it, as ``--squad`` does for a SQuAD file's articles.
    """
    from footnote.eval.compare import compare, format_compare
    from footnote.eval.report import format_table, write_reports

    if not modes:
        raise InputError("no retrieval modes given: use --modes hybrid,dense,bm25")
    modes = [Mode.parse(m) for m in modes]
    if beir_dir is not None:
        from footnote.eval.beir import format_beir, run_beir

        if sets:
            raise InputError("give either eval sets or --beir, not both")
        result = run_beir(beir_dir, modes=modes, chunk_tokens=settings.chunk_tokens,
                          overlap=settings.chunk_overlap, model_path=settings.model_path, echo=echo,
                          fusion=fusion_from_settings(settings))
        echo(format_beir(result))
        if report_dir is not None:
            report_dir.mkdir(parents=True, exist_ok=True)
            (report_dir / "beir.json").write_text(json.dumps(result, indent=2), "utf-8")
            echo(f"wrote {report_dir / 'beir.json'}")
        return result
    old = read_report(compare_to) if compare_to is not None else None
    if squad_file is not None:
        from footnote.eval.squad import run_squad

        if sets:
            raise InputError("give either eval sets or --squad, not both")
        report = run_squad(squad_file, modes, settings=settings)
    elif corpus_dir is not None:
        if not sets:
            raise InputError("--corpus needs the eval sets whose questions are about it")
        report = run_on_corpus(sets, corpus_dir, modes, settings=settings, echo=echo)
    else:
        report = run_eval(sets, index_dir, modes, model_path=settings.model_path, store=store,
                          fusion=fusion_from_settings(settings), answer_settings=AnswerSettings.from_settings(settings))
    if old is not None:
        report["compare"] = compare(old, report)
    echo(format_table(report))
    if squad_file is None:
        for line in guard_lines(report, sets):
            echo(line)
    if old is not None:
        echo(format_compare(report["compare"]))
    if report_dir is not None:
        for path in write_reports(report, report_dir):
            echo(f"wrote {path}")
    return report
