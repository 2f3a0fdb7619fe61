"""Judging one question: which passages hold its evidence, how its answer scores, and what went wrong.

A passage is relevant when it holds an evidence snippet (grade 2) or at least half of one that runs over a
passage boundary (grade 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from footnote.eval import metrics as m

if TYPE_CHECKING:
    from footnote.eval.dataset import Question
    from footnote.index.load import Index
    from footnote.ingest.models import Passage
    from footnote.service.models import Answer

TOP_RANKS = 5  # evidence ranked below this in a mode is a failure of that mode


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


def failures(record: dict[str, Any], modes: Sequence[str]) -> list[str]:
    """What went wrong for one question's record, as the report lists it (empty: nothing)."""
    out: list[str] = []
    ans = record.get("answer")
    if record["answerable"]:
        if not record["relevant"]:
            out.append("evidence not found in any passage")
        for mode in modes:
            rank = record["retrieval"][mode]["rank"]
            if rank is None or rank > TOP_RANKS:
                out.append(f"{mode}: evidence not in top {TOP_RANKS}")
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
