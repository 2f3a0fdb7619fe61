"""Retrieval and answer metrics: pure functions over plain data, no model, no index.

Retrieval metrics take a TREC-style ``run`` (``{qid: {docid: score}}``) and ``qrels``
(``{qid: {docid: grade}}``, a grade > 0 meaning relevant) and follow trec_eval exactly, so they agree
with ``pytrec_eval`` to the last bit (see tests/eval/test_metrics.py):

- A run is ranked by score, highest first; **ties are broken by doc id in descending string order**,
  which is what trec_eval does (``comp_sim_docno`` sorts by ``strcmp(b, a)`` on equal scores).
  The rank a system printed is ignored, as in trec_eval.
- nDCG uses linear gain (the grade itself) and a ``log2(rank + 1)`` discount; the ideal ranking is the
  judged grades sorted descending. ``binary=True`` caps every grade at 1.
- MAP is uncut: precision at each relevant retrieved document, summed, over all relevant documents.
- The mean is over every query in ``qrels`` (trec_eval ``-c``): a query the run lacks scores 0.

Answer metrics work on offsets and strings; they are used by ``eval.judge`` on ``service.models.Answer``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence

Run = Mapping[str, Mapping[str, float]]
Qrels = Mapping[str, Mapping[str, int]]
Span = tuple[int, int]

RETRIEVAL_METRICS = (
    "hit@1", "hit@3", "hit@5", "hit@10",
    "recall@5", "recall@10", "recall@100",
    "mrr@10", "ndcg@10", "ndcg@10_binary", "map",
)

# A quote "quotes the evidence" when it shares at least this many characters with an evidence snippet
# (or all of the snippet, when the snippet is shorter).
EVIDENCE_MIN_OVERLAP = 30
# A passage that holds only part of a snippet (the snippet runs over a passage boundary) is relevant,
# with grade 1, when it holds at least this fraction of the snippet's characters.
PARTIAL_EVIDENCE_FRACTION = 0.5

_WS = re.compile(r"\s+")


# --------------------------------------------------------------------------------------------------
# Ranking and per-query retrieval metrics


def rank(scores: Mapping[str, float]) -> list[str]:
    """Doc ids by score descending, ties by doc id descending (trec_eval's order)."""
    return [doc for doc, _ in sorted(scores.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)]


def _relevant(grades: Mapping[str, int]) -> set[str]:
    return {doc for doc, grade in grades.items() if grade > 0}


def first_relevant_rank(ranking: Sequence[str], grades: Mapping[str, int]) -> int | None:
    """1-based rank of the first relevant document, or None."""
    for i, doc in enumerate(ranking, 1):
        if grades.get(doc, 0) > 0:
            return i
    return None


def hit_at(ranking: Sequence[str], grades: Mapping[str, int], k: int) -> float:
    r = first_relevant_rank(ranking[:k], grades)
    return 1.0 if r is not None else 0.0


def recall_at(ranking: Sequence[str], grades: Mapping[str, int], k: int) -> float:
    relevant = _relevant(grades)
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranking[:k])) / len(relevant)


def reciprocal_rank_at(ranking: Sequence[str], grades: Mapping[str, int], k: int) -> float:
    r = first_relevant_rank(ranking[:k], grades)
    return 1.0 / r if r is not None else 0.0


def ndcg_at(ranking: Sequence[str], grades: Mapping[str, int], k: int, binary: bool = False) -> float:
    def gain(g: int) -> float:
        return float(min(g, 1) if binary else g) if g > 0 else 0.0

    dcg = sum(gain(grades.get(doc, 0)) / math.log2(i + 1) for i, doc in enumerate(ranking[:k], 1))
    ideal = sorted((gain(g) for g in grades.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 1) for i, g in enumerate(ideal, 1))
    return dcg / idcg if idcg > 0 else 0.0


def average_precision(ranking: Sequence[str], grades: Mapping[str, int]) -> float:
    relevant = _relevant(grades)
    if not relevant:
        return 0.0
    found, total = 0, 0.0
    for i, doc in enumerate(ranking, 1):
        if doc in relevant:
            found += 1
            total += found / i
    return total / len(relevant)


def query_metrics(scores: Mapping[str, float], grades: Mapping[str, int]) -> dict[str, float]:
    """Every metric of ``RETRIEVAL_METRICS`` for one query."""
    ranking = rank(scores)
    return {
        "hit@1": hit_at(ranking, grades, 1),
        "hit@3": hit_at(ranking, grades, 3),
        "hit@5": hit_at(ranking, grades, 5),
        "hit@10": hit_at(ranking, grades, 10),
        "recall@5": recall_at(ranking, grades, 5),
        "recall@10": recall_at(ranking, grades, 10),
        "recall@100": recall_at(ranking, grades, 100),
        "mrr@10": reciprocal_rank_at(ranking, grades, 10),
        "ndcg@10": ndcg_at(ranking, grades, 10),
        "ndcg@10_binary": ndcg_at(ranking, grades, 10, binary=True),
        "map": average_precision(ranking, grades),
    }


def evaluate(run: Run, qrels: Qrels) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """(mean metrics, per-query metrics) over every query of ``qrels``; a query missing from the run is 0."""
    per_query = {qid: query_metrics(run.get(qid, {}), grades) for qid, grades in qrels.items()}
    return mean_metrics(per_query.values()), per_query


def mean_metrics(rows: Iterable[Mapping[str, float]]) -> dict[str, float]:
    rows = list(rows)
    if not rows:
        return {name: 0.0 for name in RETRIEVAL_METRICS}
    return {name: sum(row[name] for row in rows) / len(rows) for name in rows[0]}


# --------------------------------------------------------------------------------------------------
# Evidence: where a snippet stands in a document, and which passages hold it


def normalize(text: str) -> str:
    """Runs of white space become one space; ends are trimmed."""
    return _WS.sub(" ", text).strip()


def locate(snippet: str, text: str) -> list[Span]:
    """Every (start, end) of ``snippet`` in ``text``, matching any run of white space to any other."""
    words = snippet.split()
    if not words:
        return []
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def overlap(a: Span, b: Span) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def passage_grade(passage: Span, evidence: Iterable[Span]) -> int:
    """2: the passage holds a whole evidence span; 1: at least half of one (it runs over the boundary); 0."""
    grade = 0
    for span in evidence:
        length = span[1] - span[0]
        shared = overlap(passage, span)
        if length > 0 and shared >= length:
            return 2
        if length > 0 and shared >= PARTIAL_EVIDENCE_FRACTION * length:
            grade = 1
    return grade


def text_grade(passage_text: str, snippets: Iterable[str]) -> int:
    """Fallback without offsets: 2 when the passage text holds a snippet (white space normalized)."""
    haystack = normalize(passage_text)
    return 2 if any(normalize(s) and normalize(s) in haystack for s in snippets) else 0


# --------------------------------------------------------------------------------------------------
# Answer metrics


def answer_found(answers: Iterable[str], texts: Iterable[str]) -> bool:
    """An expected answer string appears, case-insensitively and white space normalized, in any text."""
    haystack = "\n".join(normalize(t).casefold() for t in texts)
    return any(normalize(a).casefold() in haystack for a in answers if a.strip())


def evidence_quoted(evidence: Iterable[Span], quotes: Iterable[Span], min_chars: int = EVIDENCE_MIN_OVERLAP) -> bool:
    """A quote shares at least ``min(min_chars, len(snippet))`` characters with an evidence span.

    This counts a quote that holds the whole snippet, a quote of 30+ characters inside the snippet, and
    a quote that overlaps the snippet by 30+ characters. Spans must be in the same document.
    """
    quotes = list(quotes)
    for span in evidence:
        need = min(min_chars, span[1] - span[0])
        if need > 0 and any(overlap(span, q) >= need for q in quotes):
            return True
    return False


def is_verbatim(quote: str, doc_text: str | None, start: int, end: int) -> bool:
    """The footnote's promise: ``quote == documents[doc_id].text[start:end]`` (and the span is real)."""
    return doc_text is not None and 0 <= start <= end <= len(doc_text) and doc_text[start:end] == quote


def abstention_scores(abstained: Sequence[bool], answerable: Sequence[bool]) -> dict[str, float | None]:
    """Precision and recall of abstaining, where the positive class is "abstained" (``grounded: false``).

    Precision: of the questions it abstained on, the share that were unanswerable (None if it never
    abstained). Recall: of the unanswerable questions, the share it abstained on (None if there were none).
    """
    true_pos = sum(1 for a, ok in zip(abstained, answerable, strict=True) if a and not ok)
    abstentions = sum(1 for a in abstained if a)
    unanswerable = sum(1 for ok in answerable if not ok)
    precision = true_pos / abstentions if abstentions else None
    recall = true_pos / unanswerable if unanswerable else None
    f1 = None
    if precision is not None and recall is not None:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"abstention_precision": precision, "abstention_recall": recall, "abstention_f1": f1}


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * p / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


# --------------------------------------------------------------------------------------------------
# SQuAD 2.0 matching, confidence and coverage

_SQUAD_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_SQUAD_ARTICLES = re.compile(r"\b(a|an|the)\b")


def squad_normalize(text: str) -> str:
    """The official SQuAD evaluation's normalisation: lower case, no punctuation, no a/an/the, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _SQUAD_PUNCT)
    return " ".join(_SQUAD_ARTICLES.sub(" ", text).split())


def squad_answer_found(answers: Iterable[str], texts: Iterable[str]) -> bool:
    """A gold answer, SQuAD-normalised, is inside the SQuAD-normalised texts (on word boundaries)."""
    haystack = " " + " ".join(squad_normalize(t) for t in texts) + " "
    return any(f" {g} " in haystack for g in (squad_normalize(a) for a in answers) if g)


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test of two systems on the same questions: the chance of a split of the questions
    only one gets right at least this uneven if each were as likely to be that one (ties carry no information)."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail: float = sum(math.comb(n, i) for i in range(min(wins, losses) + 1)) / (1 << n)
    return min(1.0, 2 * tail)


def auroc(scores: Sequence[float], positive: Sequence[bool]) -> float | None:
    """Area under the ROC curve: the chance a random positive scores above a random negative (ties half).

    Equal to scikit-learn's ``roc_auc_score``; None when one class is missing.
    """
    pos = [s for s, p in zip(scores, positive, strict=True) if p]
    neg = [s for s, p in zip(scores, positive, strict=True) if not p]
    if not pos or not neg:
        return None
    # Mann-Whitney U through average ranks: O(n log n).
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(r for r, p in zip(ranks, positive, strict=True) if p)
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def risk_coverage(confidence: Sequence[float], correct: Sequence[bool]) -> list[tuple[float, float, float]]:
    """``(coverage, precision, threshold)`` when answering only the questions at or above each confidence.

    Coverage is the share of questions answered; precision the share of those answers that are right.
    """
    order = sorted(range(len(confidence)), key=lambda i: -confidence[i])
    out: list[tuple[float, float, float]] = []
    right = 0
    for n, i in enumerate(order, 1):
        right += bool(correct[i])
        if n == len(order) or confidence[order[n]] != confidence[i]:
            out.append((n / len(order), right / n, float(confidence[i])))
    return out
