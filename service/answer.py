"""The extractive answer: pick the sentences that answer, quote them verbatim, number their footnotes.

For each request: rewrite a follow-up into a standalone query, embed it once, retrieve passages (hybrid),
score every sentence of those passages by meaning (stored sentence embeddings) and by words (IDF-weighted
coverage of the query), choose a few with maximal marginal relevance so two quotes do not say the same
thing, and decide whether the best of them answers at all. Quotes are sliced from the document's clean
text by offsets, so they are the document's own words by construction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from footnote.index.hits import Mode
from footnote.index.text import question_analyzer
from footnote.service.models import Answer, AnswerRequest, Footnote, PassageOut
from footnote.service.rewrite import standalone

if TYPE_CHECKING:
    from footnote.index.hybrid import FusionParams
    from footnote.index.store import Hit, Index

NOT_FOUND = "Not found in the documents."


@dataclass(frozen=True)
class AnswerSettings:
    """The knobs of sentence choice; defaults measured on the eval set (see README, Evals)."""

    semantic_weight: float = 0.7
    lexical_weight: float = 0.3
    rank_weight: float = 0.05
    # A sentence answers only if its combined score reaches this (calibrated on the eval set) ...
    min_score: float = 0.35
    # ... and it is about the question at all: sharing words is not enough ("the capital of France").
    min_semantic: float = 0.40
    # Headings and list stubs ("Japan") are not answers.
    min_words: int = 4
    # Further quotes must score within this share of the best one.
    relative_floor: float = 0.7
    max_quotes: int = 3
    # MMR: how much similarity to an already chosen quote costs.
    diversity: float = 0.5
    # Quotes more alike than this are the same statement.
    duplicate_cosine: float = 0.9


@dataclass(frozen=True)
class _Candidate:
    hit_rank: int
    passage_id: str
    doc_id: str
    start: int
    end: int
    semantic: float
    lexical: float
    score: float
    vector: np.ndarray


class Answerer:
    """Answers questions from one loaded index. Cheap per request: the model is already loaded."""

    def __init__(self, index: Index, settings: AnswerSettings | None = None,
                 fusion: FusionParams | None = None) -> None:
        self.index = index
        self.settings = settings or AnswerSettings()
        # Built once: the index's shared default, or one with the fusion under test (the eval's sweeps).
        self.retriever = index.retriever(Mode.HYBRID, fusion=fusion)
        self._sentence_terms: dict[tuple[str, int, int], set[str]] = {}

    @classmethod
    def from_index_dir(cls, index_dir: Path, settings: AnswerSettings | None = None) -> Answerer:
        from footnote.index.store import load

        return cls(load(index_dir), settings)

    # -- follow-ups ---------------------------------------------------------------------------------

    def standalone_query(self, request: AnswerRequest) -> str:
        history = [(turn.role, turn.content) for turn in request.history]
        return standalone(request.question, history, self.index, self._similar)

    def _similar(self, phrase: str, candidates: list[str]) -> list[float]:
        vectors = self.index.embed_queries([phrase, *candidates])
        return [float(x) for x in vectors[1:] @ vectors[0]]

    # -- the answer ---------------------------------------------------------------------------------

    def answer(self, request: AnswerRequest) -> Answer:
        query = self.standalone_query(request)
        query_vector = self.index.embed_query(query)
        hits = self.retriever.search(query, request.top_k, query_vector=query_vector)
        chosen = self._choose(query, query_vector, hits)
        passages = [PassageOut.of(hit) for hit in hits]
        if not chosen:
            return Answer(answer=NOT_FOUND, grounded=False, query=query, footnotes=[], passages=passages)
        footnotes = [self._footnote(n, cand) for n, cand in enumerate(chosen, 1)]
        text = "\n\n".join(f"“{note.quote}” [{note.n}]" for note in footnotes)
        return Answer(answer=text, grounded=True, query=query, footnotes=footnotes, passages=passages)

    def _candidates(self, query: str, query_vector: np.ndarray, hits: list[Hit]) -> list[_Candidate]:
        s = self.settings
        query_terms = question_analyzer.terms(query)
        out: list[_Candidate] = []
        for rank, hit in enumerate(hits):
            passage = hit.passage
            spans, vectors = self.index.sentence_vectors(passage.id)
            if not len(spans):
                continue
            text = self.index.documents[passage.doc_id].text
            semantic = vectors @ query_vector
            rank_bonus = s.rank_weight * (1.0 - rank / max(len(hits), 1))
            for (start, end), sem, vec in zip(spans, semantic, vectors, strict=True):
                key = (passage.doc_id, int(start), int(end))
                sentence_terms = self._sentence_terms.get(key)
                if sentence_terms is None:
                    sentence = text[start:end]
                    long_enough = len(sentence.split()) >= s.min_words
                    sentence_terms = set(question_analyzer.terms(sentence)) if long_enough else set()
                    self._sentence_terms[key] = sentence_terms
                if not sentence_terms:
                    continue
                lex = self._coverage(query_terms, sentence_terms)
                score = s.semantic_weight * float(sem) + s.lexical_weight * lex + rank_bonus
                out.append(_Candidate(rank, passage.id, passage.doc_id, int(start), int(end), float(sem), lex,
                                      score, vec))
        return out

    def _coverage(self, query_terms: list[str], text_terms: set[str]) -> float:
        """IDF-weighted share of the query's distinct terms that the text contains (0..1)."""
        distinct = set(query_terms)
        total = sum(self.index.idf(t) for t in distinct)
        hit = sum(self.index.idf(t) for t in distinct if t in text_terms)
        return hit / total if total else 0.0

    def _choose(self, query: str, query_vector: np.ndarray, hits: list[Hit]) -> list[_Candidate]:
        s = self.settings
        candidates = sorted(self._candidates(query, query_vector, hits), key=lambda c: -c.score)
        candidates = [c for c in candidates if c.semantic >= s.min_semantic]
        if wants_quantity(query):
            # "How many ...?" is answered only by a sentence that states a quantity.
            candidates = [c for c in candidates if states_quantity(self._text(c))]
        if not candidates or candidates[0].score < s.min_score:
            return []
        floor = max(s.min_score, s.relative_floor * candidates[0].score)
        pool = [c for c in candidates if c.score >= floor]
        chosen: list[_Candidate] = []
        seen_spans: set[tuple[str, int, int]] = set()
        while pool and len(chosen) < s.max_quotes:
            def mmr(c: _Candidate) -> float:
                if not chosen:
                    return c.score
                return c.score - s.diversity * max(float(c.vector @ x.vector) for x in chosen)

            best = max(pool, key=mmr)
            pool.remove(best)
            span = (best.doc_id, best.start, best.end)
            if span in seen_spans:  # the same sentence retrieved through an overlapping passage
                continue
            if chosen and max(float(best.vector @ x.vector) for x in chosen) >= s.duplicate_cosine:
                continue
            seen_spans.add(span)
            chosen.append(best)
        return chosen

    def _text(self, cand: _Candidate) -> str:
        return self.index.documents[cand.doc_id].text[cand.start : cand.end]

    def _footnote(self, n: int, cand: _Candidate) -> Footnote:
        doc = self.index.documents[cand.doc_id]
        return Footnote.of(n, doc, self.index.passage(cand.passage_id), cand.start, cand.end)


_QUANTITY_QUESTION = re.compile(
    r"\b(how\s+(many|much|long|often|large|big)|what\s+(year|percentage|share|amount|number)"
    r"|which\s+year|in\s+what\s+year|when\s+did)\b",
    re.I,
)
_QUANTITY = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|hundred|thousand"
    r"|million|billion|trillion|twice|double|half|dozen|first|second|third|fourth|fifth|decade|century)\b",
    re.I,
)


def wants_quantity(question: str) -> bool:
    """True for questions whose answer is a number, an amount or a date."""
    return bool(_QUANTITY_QUESTION.search(question))


def states_quantity(sentence: str) -> bool:
    return bool(_QUANTITY.search(sentence))
