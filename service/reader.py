"""The reader: how likely each retrieved sentence is to answer the question, as a calibrated probability.

Every sentence of the retrieved passages becomes one row of explicit features that mean the same in any
corpus (meaning similarity of the question to the sentence, its neighbours and its passage; IDF-weighted
coverage of the question's terms; the question's key terms missing from the passage or from the whole
corpus; whether the sentence holds the kind of thing asked for; retrieval rank and the fusion score
relative to the best hit). A logistic regression over them, fitted by ``benchmarks/train_reader.py`` on the
tune side of the split and stored in ``reader.json`` (plain numbers, loaded with numpy), turns each row into
the probability that the sentence answers. The answer's confidence is the best sentence's probability.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    from footnote.index.hits import Hit
    from footnote.index.store import Index

PARAMS = Path(__file__).resolve().parent / "reader.json"

FEATURES = (
    "sem", "sem_context", "sem_passage", "sem_gap", "cov_sentence", "cov_context", "cov_passage",
    "missing_passage", "missing_corpus", "type_missing", "new_name", "rank", "fusion_rel",
    "log_words", "bigrams", "novelty", "best_cov", "best_sem", "missing_context", "missing_context_n", "source_cited",
    "sem_x_cov", "sem_x_cov_context", "cov_inherit", "sem_x_cov_inherit", "cov_predicate", "sem_x_cov_predicate",
)

# The answer model reads coverage only through its products with meaning (sem_x_cov...): on its own, a sentence
# holding every word of the question looks like an answer even when a word is used in another sense ("human
# capital" for "What is the capital of Japan?"). The sentence model, which ranks quotes, keeps them.
ANSWER_FEATURES = tuple(n for n in FEATURES if n not in (
    "cov_sentence", "cov_context", "cov_passage", "best_cov", "cov_inherit", "cov_predicate"))
_ANSWER_COLUMNS = [FEATURES.index(n) for n in ANSWER_FEATURES]

_SEM, _GAP, _COV, _BEST_COV, _BEST_SEM = (
    FEATURES.index(n) for n in ("sem", "sem_gap", "cov_sentence", "best_cov", "best_sem"))

Terms = Callable[[str], list[str]]
"""Text -> its stemmed content terms (the index's analyzer)."""


# Added to every term's IDF when weighing the question's terms. BM25's IDF of a term found in every passage is
# about zero, so "Japan" in a corpus about Japan would weigh nothing, and "What is the capital of Japan?" would
# be fully covered by "Human capital is ...". A term any passage may hold still says what the question is about;
# one nat is the classic TF-IDF floor (1 + log N/df).
IDF_FLOOR = 1.0


class Weights:
    """IDF of a term (plus ``IDF_FLOOR``) and whether the corpus knows it; built by the answerer."""

    def __init__(self, idf: Callable[[str], float], known: Callable[[str], bool], max_idf: float) -> None:
        self.idf: Callable[[str], float] = lambda term: idf(term) + IDF_FLOOR
        self.known, self.max_idf = known, max_idf + IDF_FLOOR


@dataclass(frozen=True)
class Sentence:
    """One candidate: a sentence of a retrieved passage, its features and (once scored) its probability."""

    hit_rank: int
    passage_id: str
    doc_id: str
    start: int
    end: int
    vector: np.ndarray
    features: np.ndarray


# --- question and sentence shapes (English grammar, not this corpus) ---------------------------------

_QUANTITY_QUESTION = re.compile(
    r"\b(?:how\s+(?:many|much|long|often|large|big|old|far)|what\s+(?:year|percentage|share|amount|number|date)"
    r"|which\s+(?:year|century|decade)|in\s+what\s+(?:year|century|decade)|when)\b",
    re.I,
)
_NAME_QUESTION = re.compile(r"\b(?:who|whom|whose|where|which\s+\w+|what\s+(?:company|country|city|name))\b", re.I)
_QUANTITY = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred"
    r"|thousand|million|billion|trillion|twice|double|half|dozen|first|second|third|fourth|fifth|decade|century)\b",
    re.I,
)
# "What source supports ...?", "Where can I read more about ...?": answered by what a sentence cites.
_SOURCE_QUESTION = re.compile(
    r"\b(?:sources?|cites?|cited|citations?|references?|(?:read|learn|find\s+out)\s+more|more\s+information)\b", re.I)
# A sentence opening with one of these points back at the sentence before it (English grammar).
POINTS_BACK = re.compile(r"^(?:it|its|this|these|that|those|they|their|them|she|he|his|her|such|there)\b", re.I)


def asks_for_source(question: str) -> bool:
    """True for "What source supports ...?", "Where can I read more about ...?": answered by what a sentence cites."""
    return bool(_SOURCE_QUESTION.search(question))


_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w’'\-]*")
_TERMINAL = re.compile(r"[.!?:;。！？][\"'”’)\]]*\s*$")


def wants_quantity(question: str) -> bool:
    """True for questions whose answer is a number, an amount or a date."""
    return bool(_QUANTITY_QUESTION.search(question))


def states_quantity(sentence: str) -> bool:
    return bool(_QUANTITY.search(sentence))


def _names(text: str) -> set[str]:
    """Capitalised words not opening a sentence: names, roughly."""
    return {m.group(0).lower() for m in _CAPITALISED.finditer(text)}


def is_bare_line(text: str, doc_text: str, start: int, max_words: int = 10) -> bool:
    """A short line of its own with no sentence end: a heading, or one entry of a list of titles."""
    at_line_start = start == 0 or doc_text[start - 1] == "\n" or doc_text[max(0, start - 2) : start].strip() in (
        "-", "*", "•")
    return at_line_start and len(text.split()) <= max_words and not _TERMINAL.search(text)


def navigation(spans: Sequence[tuple[int, int]], doc_text: str, run: int = 3) -> set[int]:
    """Indexes of sentences in a run of ``run`` or more bare lines: a link list ("See also", references).

    Detected by shape alone (consecutive short lines with no sentence end), so it holds for any corpus; the
    lines stay indexed for retrieval but are never quoted.
    """
    bare = [is_bare_line(doc_text[s:e], doc_text, s) for s, e in spans]
    out: set[int] = set()
    i = 0
    while i < len(bare):
        j = i
        while j < len(bare) and bare[j]:
            j += 1
        if j - i >= run:
            out.update(range(i, j))
        i = max(j, i + 1)
    return out


# --- features -----------------------------------------------------------------------------------------

K = TypeVar("K")
V = TypeVar("V")


def _kept(cache: dict[K, V], key: K, work_out: Callable[[], V]) -> V:
    """``cache[key]``, worked out and kept on first use."""
    got = cache.get(key)
    if got is None:
        got = cache[key] = work_out()
    return got



def _coverage(query: dict[str, float], have: set[str]) -> float:
    total = sum(query.values())
    return sum(w for t, w in query.items() if t in have) / total if total else 0.0


def _bigrams(seq: Sequence[str]) -> set[tuple[str, str]]:
    return set(zip(seq, seq[1:], strict=False))


class Features:
    """Feature rows for every quotable sentence of the retrieved passages."""

    def __init__(self, index: Index, terms: Terms, weights: Weights, min_words: int = 4) -> None:
        self.index = index
        self.terms = terms
        self.weights = weights
        self.min_words = min_words
        # What never changes for a sentence or a passage of this index, worked out once and kept.
        self._sentence_terms: dict[tuple[str, int, int], list[str]] = {}
        self._cited: dict[tuple[str, int, int], frozenset[str]] = {}
        self._names: dict[tuple[str, int, int], set[str]] = {}
        self._passage_terms: dict[str, set[str]] = {}
        self._quotable: dict[str, tuple[bool, ...]] = {}
        self._topics: dict[str, tuple[set[str], set[str]]] = {}

    def _text(self, doc_id: str, start: int, end: int) -> str:
        return self.index.documents[doc_id].text[start:end]

    def terms_of(self, doc_id: str, start: int, end: int) -> list[str]:
        """A sentence's terms, analysed once per sentence and kept."""
        return _kept(self._sentence_terms, (doc_id, start, end),
                     lambda: self.terms(self._text(doc_id, start, end)))

    def _cited_terms(self, doc_id: str, start: int, end: int) -> frozenset[str]:
        """Terms of the sources the sentence cites: "where can I read more about X" is answered there."""
        citations = self.index.documents[doc_id].citations_between
        return _kept(self._cited, (doc_id, start, end),
                     lambda: frozenset(self.terms(" ".join(c.text for c in citations(start, end)))))

    def _names_of(self, doc_id: str, start: int, end: int) -> set[str]:
        return _kept(self._names, (doc_id, start, end), lambda: _names(self._text(doc_id, start, end)))

    def quotable(self, passage_id: str) -> tuple[bool, ...]:
        """Per sentence of the passage: long enough to say something, and not part of a link list."""

        def work_out() -> tuple[bool, ...]:
            p = self.index.passage(passage_id)
            text = self.index.documents[p.doc_id].text
            nav = navigation(p.sentences, text)
            return tuple(
                i not in nav and len(text[s:e].split()) >= self.min_words and not is_bare_line(text[s:e], text, s, 6)
                for i, (s, e) in enumerate(p.sentences)
            )

        return _kept(self._quotable, passage_id, work_out)

    def _topic_of(self, passage_id: str) -> tuple[set[str], set[str]]:
        """(heading terms, heading and title terms) of a passage: what its sentences are about."""

        def work_out() -> tuple[set[str], set[str]]:
            p = self.index.passage(passage_id)
            heading = set(self.terms(" ".join(p.section))) if p.section else set()
            return heading, heading | set(self.terms(p.title))

        return _kept(self._topics, passage_id, work_out)

    def _passage_terms_of(self, passage_id: str) -> set[str]:
        def work_out() -> set[str]:
            p = self.index.passage(passage_id)
            return set(self.terms(" ".join([p.title, *p.section, p.text])))

        return _kept(self._passage_terms, passage_id, work_out)

    def rows(self, question: str, query_vector: np.ndarray, hits: Sequence[Hit]) -> list[Sentence]:
        w = self.weights
        asks_source = asks_for_source(question)
        # The words asking for a source are not what the sentence should say.
        q_terms = self.terms(_SOURCE_QUESTION.sub(" ", question))
        q_weight = {t: w.idf(t) for t in dict.fromkeys(q_terms)}
        q_total = sum(q_weight.values()) or 1.0
        q_bigrams = _bigrams(q_terms)
        q_set = set(q_terms)
        q_names = _names(question) | {word.lower() for word in question.split()}
        missing_corpus = sum(v for t, v in q_weight.items() if not w.known(t)) / q_total
        quantity = wants_quantity(question)
        name = bool(_NAME_QUESTION.search(question)) and not quantity
        top_score = float(hits[0].score) if hits and hits[0].score else 1.0
        raw: list[tuple[int, str, str, int, int, np.ndarray, list[float]]] = []
        seen: set[tuple[str, int, int]] = set()
        for rank, hit in enumerate(hits):
            p = hit.passage
            spans, vectors = self.index.sentence_vectors(p.id)
            if not len(spans):
                continue
            quotable = self.quotable(p.id)
            text = self.index.documents[p.doc_id].text
            sem = vectors @ query_vector
            centroid = vectors.sum(axis=0)
            sem_passage = float(centroid @ query_vector) / (float(np.linalg.norm(centroid)) or 1.0)
            p_terms = self._passage_terms_of(p.id)
            # What the question asks of its subject: its terms that are not the subject's own (the section's
            # heading, the document's title). "How did Guy Moll die?" under "Guy Moll" asks "die".
            heading, topic = self._topic_of(p.id)
            asked = {t: v for t, v in q_weight.items() if t not in topic} or q_weight
            cov_passage = _coverage(q_weight, p_terms)
            absent = [v for t, v in q_weight.items() if t not in p_terms]
            missing_passage = max(absent, default=0.0) / (w.max_idf or 1.0)
            all_terms = [self.terms_of(p.doc_id, s, e) for s, e in spans]
            # Each sentence with its neighbours: the sum of their vectors, its cosine with the question.
            window = np.cumsum(np.vstack([np.zeros((1, vectors.shape[1]), vectors.dtype), vectors]), axis=0)
            lows = np.maximum(np.arange(len(spans)) - 1, 0)
            highs = np.minimum(np.arange(len(spans)) + 2, len(spans))
            contexts = window[highs] - window[lows]
            norms = np.linalg.norm(contexts, axis=1)
            sem_contexts = (contexts @ query_vector) / np.where(norms > 0, norms, 1.0)
            for i, (start, end) in enumerate(spans):
                key = (p.doc_id, int(start), int(end))
                if not quotable[i] or key in seen:
                    continue
                seen.add(key)
                lo, hi = max(0, i - 1), min(len(spans), i + 2)
                sem_context = float(sem_contexts[i])
                s_terms = all_terms[i]
                s_set = set(s_terms)
                context_set = set().union(*all_terms[lo:hi]) | self._cited_terms(p.doc_id, int(start), int(end))
                sentence = text[start:end]
                new_names = self._names_of(p.doc_id, int(start), int(end)) - q_names
                novelty = len(s_set - q_set) / max(len(s_set), 1)
                type_present = (states_quantity(sentence) if quantity else bool(new_names)) if (quantity or name) else 0
                # The question's key terms the sentence and its neighbours never use: a changed word is what
                # makes a question look answerable when it is not.
                absent_here = [v for t, v in q_weight.items() if t not in context_set]
                # What the sentence says of the subject it is about: a sentence is about its section's heading
                # ("He appeared in 73 films ..." under "Alexander Engel"), and one opening with "He", "It" or
                # "This" is about what the sentence before it named. Without this the sentence that names the
                # subject wins every question about it, whatever it says.
                about = s_set | heading | (set(all_terms[i - 1]) if i and POINTS_BACK.match(sentence) else set())
                cov_inherit = _coverage(q_weight, about)
                cov_predicate = _coverage(asked, about)
                raw.append((rank, p.id, p.doc_id, int(start), int(end), vectors[i], [
                    float(sem[i]), sem_context, sem_passage, 0.0,
                    _coverage(q_weight, s_set), _coverage(q_weight, context_set), cov_passage,
                    # Asked for a number or a name, and the sentence has none. Whether a question asks for one
                    # says nothing of whether the documents answer it: as features of their own, "asks for a
                    # type" and "has it" learnt how the labelled unanswerable questions happened to be worded.
                    missing_passage, missing_corpus, float(bool(quantity or name) and not type_present),
                    float(bool(new_names)), 1.0 / (1 + rank), float(hit.score) / top_score,
                    math.log1p(len(sentence.split())),
                    len(q_bigrams & _bigrams(s_terms)) / len(q_bigrams) if q_bigrams else 0.0,
                    novelty, 0.0, 0.0,
                    max(absent_here, default=0.0) / (w.max_idf or 1.0), float(len(absent_here)),
                    float(asks_source and bool(self._cited_terms(p.doc_id, int(start), int(end)))),
                    # Sharing the question's words is not enough ("Human capital ..." for "the capital of
                    # Japan"): the products only grow when meaning and words agree.
                    float(sem[i]) * _coverage(q_weight, s_set), sem_context * _coverage(q_weight, context_set),
                    cov_inherit, float(sem[i]) * cov_inherit, cov_predicate, float(sem[i]) * cov_predicate,
                ]))
        if not raw:
            return []
        best_sem = max(r[6][_SEM] for r in raw)
        best_cov = max(r[6][_COV] for r in raw)
        out = []
        for rank, pid, doc_id, start, end, vec, f in raw:
            f[_GAP] = f[_SEM] - best_sem
            f[_BEST_COV] = best_cov
            f[_BEST_SEM] = best_sem
            out.append(Sentence(rank, pid, doc_id, start, end, vec, np.asarray(f, dtype=np.float64)))
        return out


# --- the fitted model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Logistic:
    """Standardise, weigh, squash: ``p = sigmoid(((x - mean) / scale) @ coef + intercept)``."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        z = ((rows - self.mean) / self.scale) @ self.coef + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -40, 40))))

    @classmethod
    def zero(cls, n: int) -> Logistic:
        return cls(np.zeros(n), np.ones(n), np.zeros(n), 0.0)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Logistic:
        return cls(np.asarray(data["mean"], dtype=np.float64), np.asarray(data["scale"], dtype=np.float64),
                   np.asarray(data["coef"], dtype=np.float64), float(data["intercept"]))


def logit(prob: float) -> float:
    """A probability as log-odds (clipped away from 0 and 1)."""
    p = min(max(prob, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def question_row(best: np.ndarray, prob: float) -> np.ndarray:
    """The answer-level row: the best sentence's probability as a logit, and its ``ANSWER_FEATURES``."""
    return np.concatenate([[logit(prob)], best[_ANSWER_COLUMNS]])


@dataclass(frozen=True)
class Model:
    """Two fitted logistic regressions and three thresholds.

    ``sentence`` gives each sentence the probability that it answers (it ranks the quotes and is each
    footnote's confidence); ``answer`` turns the best sentence's row into the probability that the documents
    answer the question at all (the answer's confidence, which the thresholds apply to).
    """

    sentence: Logistic
    answer: Logistic
    abstain_below: float
    confident_from: float
    quote_bar: float
    meta: dict[str, Any]

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        return self.sentence(rows)

    def confidence(self, best: np.ndarray, prob: float) -> float:
        return float(self.answer(question_row(best, prob)[None, :])[0])

    @classmethod
    def neutral(cls) -> Model:
        """All weights zero (every probability 0.5): what training reads features with."""
        n = len(FEATURES)
        return cls(Logistic.zero(n), Logistic.zero(len(ANSWER_FEATURES) + 1), 0.5, 0.5, 0.5, {})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        if tuple(data["features"]) != FEATURES or tuple(data["answer"]["inputs"][1:]) != ANSWER_FEATURES:
            raise ValueError("reader.json was fitted on other features: rerun benchmarks/train_reader.py")
        return cls(
            sentence=Logistic.from_dict(data["sentence"]), answer=Logistic.from_dict(data["answer"]),
            abstain_below=float(data["thresholds"]["abstain_below"]),
            confident_from=float(data["thresholds"]["confident_from"]),
            quote_bar=float(data["thresholds"]["quote_bar"]), meta=dict(data.get("meta", {})),
        )


@lru_cache(maxsize=4)
def load_model(path: Path = PARAMS) -> Model:
    """The committed reader parameters (plain JSON: no pickle, no scikit-learn at run time)."""
    return Model.from_dict(json.loads(Path(path).read_text("utf-8")))
