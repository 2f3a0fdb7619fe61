"""The reader's features: every retrieved sentence as one row of numbers that mean the same in any corpus.

Meaning similarity of the question to the sentence, its neighbours and its passage; IDF-weighted coverage of
the question's terms; the question's key terms missing from the passage or from the whole corpus; whether
the sentence holds the kind of thing asked for; retrieval rank and the fusion score relative to the best
hit. The fitted model (``model.py``) turns each row into the probability that the sentence answers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from footnote.index.kept import Kept

if TYPE_CHECKING:
    from footnote.index.hits import Hit
    from footnote.index.load import Index

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
ANSWER_COLUMNS = [FEATURES.index(n) for n in ANSWER_FEATURES]

_COLUMN = {name: i for i, name in enumerate(FEATURES)}
# Every feature but these three is worked out passage by passage; they need every passage read first.
_PER_PASSAGE = set(FEATURES) - {"sem_gap", "best_cov", "best_sem"}
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


# A line of its own with no sentence end and at most this many words is a heading or a list entry: as the
# sentence before a quote (which a quote opening with "it" reaches back over) or as a link list's entry.
BARE_LINE_WORDS = 10
# A stricter cut for what may be quoted at all: a bare line of up to six words ("Background", "Costs of
# Compliance") is a heading, while a longer one is more often a sentence whose full stop was lost in
# conversion, which may still answer.
QUOTABLE_LINE_WORDS = 6


def is_bare_line(text: str, doc_text: str, start: int, max_words: int = BARE_LINE_WORDS) -> bool:
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

# Passages (and sentences) whose feature arrays are kept between questions: about 16 KB a passage, so some
# 30 MB at most, and far more than a conversation or a popular question reads.
PASSAGES_KEPT = 2048


def _coverage(query: dict[str, float], have: AbstractSet[str]) -> float:
    total = sum(query.values())
    return sum(w for t, w in query.items() if t in have) / total if total else 0.0


def _bigrams(seq: Sequence[str]) -> set[tuple[str, str]]:
    return set(zip(seq, seq[1:], strict=False))


@dataclass(frozen=True)
class _Block:
    """What never changes for one passage's sentences, one row per sentence, worked out once per passage.

    Term sets are 0/1 matrices over the passage's own vocabulary, so a question's coverage of every sentence
    is a few column sums instead of a Python loop over sentences and terms.
    """

    spans: tuple[tuple[int, int], ...]
    vectors: np.ndarray  # (n, dim) unit sentence vectors (a view into the index)
    quotable: np.ndarray  # (n,) bool: long enough to say something, and not part of a link list
    vocab: dict[str, int]  # term -> column of own / context / about
    own: np.ndarray  # (n, V) bool: the sentence's terms
    context: np.ndarray  # (n, V) bool: its terms and its neighbours', and those of the sources it cites
    about: np.ndarray  # (n, V) bool: what it says of its subject (below)
    bigram_vocab: dict[tuple[str, str], int]
    bigrams: np.ndarray  # (n, B) bool
    name_vocab: dict[str, int]
    names: np.ndarray  # (n, N) bool: capitalised words not opening a sentence
    quantity: np.ndarray  # (n,) bool: states a number, amount or date
    log_words: np.ndarray  # (n,) log(1 + words)
    cites: np.ndarray  # (n,) bool: cites a source that has text
    passage_terms: frozenset[str]
    topic: frozenset[str]  # heading and title terms: what the passage's sentences are about
    centroid: np.ndarray  # (dim,) the passage's sentence vectors summed
    centroid_norm: float


def _incidence(rows: Sequence[Iterable[Hashable]], vocab: dict[Any, int]) -> np.ndarray:
    """0/1 matrix: row i marks the vocabulary entries in ``rows[i]`` (adding unseen ones to ``vocab``)."""
    cells = [(i, vocab.setdefault(item, len(vocab))) for i, row in enumerate(rows) for item in row]
    out = np.zeros((len(rows), len(vocab)), dtype=bool)
    if cells:
        out[tuple(np.asarray(cells).T)] = True
    return out


def _weighted_sum(matrix: np.ndarray, columns: Sequence[tuple[int | None, float]], n: int) -> np.ndarray:
    """Per row, the weights of the columns it marks, added in the question's term order (as ``_coverage``
    adds them, so the sums are the same to the last bit); ``None``: a term no sentence has."""
    acc = np.zeros(n)
    for col, weight in columns:
        if col is not None:
            acc = acc + weight * matrix[:, col]
    return acc


@dataclass(frozen=True)
class _Question:
    """What the feature rows need of the question, worked out once per question."""

    weight: dict[str, float]  # its terms (without the words asking for a source), IDF-weighted
    total: float
    bigrams: set[tuple[str, str]]
    names: set[str]  # its capitalised words and every word it uses, lower-cased
    missing_corpus: float  # the weight of its terms no passage has, as a share
    quantity: bool  # asks for a number, an amount or a date
    name: bool  # asks for a name
    source: bool  # asks for a source


class Features:
    """Feature rows for every quotable sentence of the retrieved passages."""

    def __init__(self, index: Index, terms: Terms, weights: Weights, min_words: int = 4) -> None:
        self.index = index
        self.terms = terms
        self.weights = weights
        self.min_words = min_words
        # What never changes for a passage or a sentence of this index, worked out once and kept (the most
        # recently read ones).
        self._blocks: Kept[str, _Block] = Kept(PASSAGES_KEPT)
        self._sentence_terms: Kept[tuple[str, int, int], list[str]] = Kept(PASSAGES_KEPT)

    def terms_of(self, doc_id: str, start: int, end: int) -> list[str]:
        """A sentence's terms, analysed once per sentence and kept."""
        return self._sentence_terms.get((doc_id, start, end),
                                        lambda: self.terms(self.index.documents[doc_id].text[start:end]))

    def block(self, passage_id: str) -> _Block:
        """The passage's per-sentence arrays (built on first use and kept)."""
        return self._blocks.get(passage_id, lambda: self._build(passage_id))

    def _build(self, passage_id: str) -> _Block:
        p = self.index.passage(passage_id)
        spans, vectors = self.index.sentence_vectors(passage_id)
        document = self.index.documents[p.doc_id]
        text = document.text
        n = len(spans)
        nav = navigation(spans, text)
        sentences = [text[s:e] for s, e in spans]
        own = [self.terms(sentence) for sentence in sentences]
        cited = [self.terms(" ".join(c.text for c in document.citations_between(s, e))) for s, e in spans]
        heading = set(self.terms(" ".join(p.section))) if p.section else set()
        # What a sentence says of the subject it is about: a sentence is about its section's heading (a
        # sentence "He appeared in 73 films" under a person's name), and one opening with "He", "It" or "This" is about
        # what the sentence before it named. Without this the sentence that names the subject wins every
        # question about it, whatever it says.
        about = [set(own[i]) | heading | (set(own[i - 1]) if i and POINTS_BACK.match(sentences[i]) else set())
                 for i in range(n)]
        context = [set().union(*own[max(0, i - 1) : i + 2], cited[i]) for i in range(n)]
        vocab: dict[str, int] = {}
        own_m, context_m, about_m = (_incidence(rows, vocab) for rows in (own, context, about))
        width = len(vocab)  # the earlier matrices were built before later rows added columns: pad them
        own_m, context_m = (np.pad(m, ((0, 0), (0, width - m.shape[1]))) for m in (own_m, context_m))
        bigram_vocab: dict[tuple[str, str], int] = {}
        name_vocab: dict[str, int] = {}
        centroid = vectors.sum(axis=0)
        return _Block(
            spans=tuple((int(s), int(e)) for s, e in spans), vectors=np.asarray(vectors),
            quotable=np.array([i not in nav and len(sentences[i].split()) >= self.min_words
                               and not is_bare_line(sentences[i], text, spans[i][0], QUOTABLE_LINE_WORDS)
                               for i in range(n)], dtype=bool),
            vocab=vocab, own=own_m, context=context_m, about=about_m,
            bigram_vocab=bigram_vocab, bigrams=_incidence([_bigrams(t) for t in own], bigram_vocab),
            name_vocab=name_vocab, names=_incidence([_names(s) for s in sentences], name_vocab),
            quantity=np.array([states_quantity(s) for s in sentences], dtype=bool),
            log_words=np.array([math.log1p(len(s.split())) for s in sentences], dtype=np.float64),
            cites=np.array([bool(c) for c in cited], dtype=bool),
            passage_terms=frozenset(self.terms(" ".join([p.title, *p.section, p.text]))),
            topic=frozenset(heading | set(self.terms(p.title))),
            centroid=centroid, centroid_norm=float(np.linalg.norm(centroid)),
        )

    def rows(self, question: str, query_vector: np.ndarray, hits: Sequence[Hit]) -> list[Sentence]:
        w = self.weights
        # The words asking for a source are not what the sentence should say.
        q_terms = self.terms(_SOURCE_QUESTION.sub(" ", question))
        weight = {t: w.idf(t) for t in dict.fromkeys(q_terms)}
        total = sum(weight.values())
        quantity = wants_quantity(question)
        q = _Question(
            weight=weight, total=total, bigrams=_bigrams(q_terms),
            names=_names(question) | {word.lower() for word in question.split()},
            missing_corpus=sum(v for t, v in weight.items() if not w.known(t)) / (total or 1.0),
            quantity=quantity, name=bool(_NAME_QUESTION.search(question)) and not quantity,
            source=asks_for_source(question))
        top_score = float(hits[0].score) if hits and hits[0].score else 1.0
        max_idf = w.max_idf or 1.0
        found: list[tuple[int, Hit, _Block, list[int], np.ndarray]] = []
        seen: set[tuple[str, int, int]] = set()
        for rank, hit in enumerate(hits):
            p = hit.passage
            b = self.block(p.id)
            keep = []
            for i, (start, end) in enumerate(b.spans):
                if b.quotable[i] and (p.doc_id, start, end) not in seen:
                    seen.add((p.doc_id, start, end))
                    keep.append(i)
            if keep:
                rows = _passage_rows(b, query_vector, q, rank, float(hit.score) / top_score, max_idf)
                found.append((rank, hit, b, keep, rows[keep]))
        if not found:
            return []
        best_sem = max(float(f[:, _SEM].max()) for *_, f in found)
        best_cov = max(float(f[:, _COV].max()) for *_, f in found)
        out = []
        for rank, hit, b, keep, f in found:
            f[:, _GAP] = f[:, _SEM] - best_sem
            f[:, _BEST_COV] = best_cov
            f[:, _BEST_SEM] = best_sem
            for row, i in zip(f, keep, strict=True):
                start, end = b.spans[i]
                out.append(Sentence(rank, hit.passage.id, hit.passage.doc_id, start, end, b.vectors[i], row))
        return out


def _passage_rows(b: _Block, query_vector: np.ndarray, q: _Question, rank: int, fusion_rel: float,
                  max_idf: float) -> np.ndarray:
    """Every sentence of one passage as a feature row, in ``FEATURES`` order (the gap to the best sentence, and
    the best coverage and meaning, are filled in once all passages are read)."""
    n = len(b.spans)
    sem = (b.vectors @ query_vector).astype(np.float64)
    # Each sentence with its neighbours: the sum of their vectors, its cosine with the question.
    window = np.cumsum(np.vstack([np.zeros((1, b.vectors.shape[1]), b.vectors.dtype), b.vectors]), axis=0)
    at = np.arange(n)
    contexts = window[np.minimum(at + 2, n)] - window[np.maximum(at - 1, 0)]
    norms = np.linalg.norm(contexts, axis=1)
    sem_context = ((contexts @ query_vector) / np.where(norms > 0, norms, 1.0)).astype(np.float64)
    columns = [(b.vocab.get(t), v) for t, v in q.weight.items()]
    # What the question asks of its subject: its terms that are not the subject's own (the section's heading,
    # the document's title). "How did X die?" under the heading "X" asks "die".
    asked = {t: v for t, v in q.weight.items() if t not in b.topic} or q.weight

    def cover(matrix: np.ndarray, cols: Sequence[tuple[int | None, float]], total: float) -> np.ndarray:
        return _weighted_sum(matrix, cols, n) / total if total else np.zeros(n)

    cov_sentence = cover(b.own, columns, q.total)
    cov_context = cover(b.context, columns, q.total)
    cov_inherit = cover(b.about, columns, q.total)
    cov_predicate = cover(b.about, [(b.vocab.get(t), v) for t, v in asked.items()], sum(asked.values()))
    # The question's key terms the sentence and its neighbours never use: a changed word is what makes a
    # question look answerable when it is not.
    absent_max, absent_n = np.full(n, -np.inf), np.zeros(n)
    for col, v in columns:
        missing = np.ones(n, dtype=bool) if col is None else ~b.context[:, col]
        absent_max = np.maximum(absent_max, np.where(missing, v, -np.inf))
        absent_n += missing
    n_terms = b.own.sum(axis=1)  # the sentence's distinct terms
    shared = b.own[:, [col for col, _ in columns if col is not None]].sum(axis=1)
    bigram_cols = [b.bigram_vocab[g] for g in q.bigrams if g in b.bigram_vocab]
    new_name = np.asarray(b.names[:, [col for nm, col in b.name_vocab.items() if nm not in q.names]].any(axis=1))
    # Asked for a number or a name, and the sentence has none. Whether a question asks for one says nothing of
    # whether the documents answer it: as features of their own, "asks for a type" and "has it" learnt how the
    # labelled unanswerable questions happened to be worded.
    type_missing = np.asarray(~b.quantity if q.quantity else ~new_name if q.name else np.zeros(n, dtype=bool))
    values: dict[str, np.ndarray | float] = {
        "sem": sem, "sem_context": sem_context,
        "sem_passage": float(b.centroid @ query_vector) / (b.centroid_norm or 1.0),
        "cov_sentence": cov_sentence, "cov_context": cov_context, "cov_passage": _coverage(q.weight, b.passage_terms),
        "missing_passage": max((v for t, v in q.weight.items() if t not in b.passage_terms), default=0.0) / max_idf,
        "missing_corpus": q.missing_corpus, "type_missing": type_missing, "new_name": new_name,
        "rank": 1.0 / (1 + rank), "fusion_rel": fusion_rel, "log_words": b.log_words,
        "bigrams": b.bigrams[:, bigram_cols].sum(axis=1) / len(q.bigrams) if q.bigrams else 0.0,
        "novelty": (n_terms - shared) / np.maximum(n_terms, 1),
        "missing_context": np.where(absent_n > 0, absent_max, 0.0) / max_idf, "missing_context_n": absent_n,
        "source_cited": b.cites & q.source,
        # Sharing the question's words is not enough ("Human capital ..." for "the capital of Japan"): the
        # products only grow when meaning and words agree.
        "sem_x_cov": sem * cov_sentence, "sem_x_cov_context": sem_context * cov_context,
        "cov_inherit": cov_inherit, "sem_x_cov_inherit": sem * cov_inherit,
        "cov_predicate": cov_predicate, "sem_x_cov_predicate": sem * cov_predicate,
    }
    if values.keys() != _PER_PASSAGE:
        raise AssertionError(f"feature rows lack {sorted(_PER_PASSAGE - values.keys())}")
    f = np.zeros((n, len(FEATURES)))
    for name, value in values.items():
        f[:, _COLUMN[name]] = value
    return f
