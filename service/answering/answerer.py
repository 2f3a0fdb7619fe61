"""The extractive answer: pick the sentences that answer, quote them verbatim, number their footnotes.

For each request: rewrite a follow-up into standalone candidate queries, embed them in one batch, retrieve
passages (hybrid) for each, and let the reader (``features.py`` and ``model.py``) give every sentence of those passages
the probability that it answers. The candidate the reader is most confident in wins. Below the fitted
``abstain_below`` the answer is "not found"; below ``confident_from`` it answers but says the documents
may not answer. Further quotes must each clear the same absolute bar (``quote_bar``). A quote opening with a
pronoun or demonstrative is extended back over the sentence it refers to, as one span. Quotes are sliced
from the document's clean text by offsets, so they are the document's own words by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from footnote.index.hits import Mode
from footnote.index.hybrid import FusionParams
from footnote.index.kept import Kept
from footnote.service.answering.cross import CrossEncoder, Precision, Runtime, pair_text
from footnote.service.answering.features import (
    POINTS_BACK,
    Features,
    Sentence,
    Weights,
    asks_for_source,
    is_bare_line,
    states_quantity,
    wants_quantity,
)
from footnote.service.answering.model import READERS, UNREAD_LOGIT, CrossSpec, Model, load_model, logit
from footnote.service.answering.question import question_analyzer
from footnote.service.answering.rewrite import asks_for_more, earlier_question, follows_up
from footnote.service.answering.rewrite import candidates as rewrite_candidates
from footnote.service.models import Answer, AnswerRequest, Footnote, PassageOut
from footnote.service.where import page_map
from footnote.settings import Settings

if TYPE_CHECKING:
    from footnote.index.load import Hit, Index
    from footnote.index.pages import PageMap
    from footnote.ingest.models import Passage

NOT_FOUND = "Not found in the documents."
# How much more confident (in log-odds, so the margin means the same near 0.5 and near 1) the reader must be
# in another referent's rewrite than in the rule-based one: about 0.1 of probability around 0.5.
REFERENT_MARGIN = 0.4
MAY_NOT_ANSWER = "The documents may not answer this question; the closest passages say:"
# How much of a sentence's opening an earlier answer must hold for the sentence to count as already quoted.
REPEAT_CHARS = 80

__all__ = ["Answerer", "AnswerSettings", "NOT_FOUND", "states_quantity", "wants_quantity"]


@dataclass(frozen=True)
class AnswerSettings:
    """The knobs of quote choice; the reader's thresholds come from its fitted ``reader.json`` unless set."""

    max_quotes: int = 3
    # Quotes more alike than this are the same statement.
    duplicate_cosine: float = 0.85
    # Headings and list stubs ("Japan") are not answers.
    min_words: int = 4
    abstain_below: float | None = None
    confident_from: float | None = None
    quote_bar: float | None = None
    # Which fitted reader: "features" (the logistic regressions over the features) or "neural" (stacked with a
    # fine-tuned cross-encoder).
    reader: str = "features"
    # Where the neural reader's cross-encoder runs: "onnx" (checked against torch, else torch) or "torch".
    runtime: Runtime = "onnx"
    # Its precision on ONNX Runtime: None keeps the one its reader.json names.
    precision: Precision | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> AnswerSettings:
        """The knobs ``settings`` name; the rest keep their calibrated defaults."""
        return cls(abstain_below=settings.answer_abstain_below, confident_from=settings.answer_confident_from,
                   quote_bar=settings.answer_quote_bar, max_quotes=settings.answer_max_quotes,
                   reader=settings.reader, runtime=settings.query_runtime, precision=settings.cross_precision)


@dataclass(frozen=True)
class Reading:
    """What the reader made of one query: its hits, sentences and their probabilities (best first)."""

    query: str
    hits: list[Hit]
    sentences: list[Sentence]
    probs: np.ndarray
    confidence: float


@dataclass(frozen=True)
class Said:
    """What a follow-up's conversation already quoted, and whether a sentence of it may be quoted again."""

    texts: tuple[str, ...] = ()  # the earlier answers, white space collapsed
    # A sentence already quoted is quoted again only when it holds one of these terms (the follow-up's own
    # words); None: never.
    needs: frozenset[str] | None = None

    def allows(self, sentence_terms: Iterable[str]) -> bool:
        return self.needs is not None and not self.needs.isdisjoint(sentence_terms)


def already_said(question: str, history: Sequence[tuple[str, str]], vocab: Index) -> Said:
    """What the earlier answers said, for a follow-up; nothing for a question that stands alone.

    The sentence quoted last matches every word the follow-up shares with the conversation, so it would win
    again whatever the follow-up asks: a sentence giving a person's birth date and trade answers "When was he
    born?", not "When did he put out his first album?". So a sentence already quoted is quoted again only when
    it holds one of the follow-up's own words (here "born"). Never for a follow-up that asks past what was said
    ("What other ...?", "And X?", "... also ..."), and always for one that asks for the source of what was
    said ("Which source is cited for that?"): that is in the quote's footnote.
    """
    if not history or not follows_up(question, vocab) or asks_for_source(question):
        return Said()
    texts = tuple(" ".join(content.split()) for role, content in history if role == "assistant" and content.strip())
    if asks_for_more(question):
        return Said(texts)
    own = frozenset(question_analyzer.terms(question))
    return Said(texts, own) if own else Said()

def candidate_text(passage: Passage, text: str, start: int, end: int) -> str:
    """What the cross-encoder reads of the sentence ``text[start:end]`` of ``passage``: the sentence, the
    passage's heading, and the sentence before it in the passage."""
    before = [sp for sp in passage.sentences if sp[1] <= start]
    previous = text[before[-1][0] : before[-1][1]] if before else ""
    heading = " › ".join(passage.section) if passage.section else passage.title
    return pair_text(text[start:end], heading, previous)


# Cross-encoder logits kept between questions, by (query, document, start, end): a repeated question reads no
# sentence twice.
CROSS_KEPT = 8192


def load_cross(spec: CrossSpec, runtime: Runtime = "onnx", precision: Precision | None = None) -> CrossEncoder:
    """The reader's cross-encoder (its file beside ``reader.json``), loaded once per process, runtime and
    precision (None: the one ``spec`` names, so naming it or not shares one load)."""
    return _load_cross(spec, runtime, precision or spec.precision)


@lru_cache(maxsize=4)
def _load_cross(spec: CrossSpec, runtime: Runtime, precision: Precision) -> CrossEncoder:
    return CrossEncoder.load(spec.file, spec.sha256, runtime=runtime, precision=precision)


class Answerer:
    """Answers questions from one loaded index. Cheap per request: the model is already loaded."""

    def __init__(self, index: Index, settings: AnswerSettings | None = None,
                 fusion: FusionParams | None = None, model: Model | None = None) -> None:
        self.index = index
        self.settings = settings or AnswerSettings()
        self.model = model or load_model(READERS[self.settings.reader])
        # The fusion under test (the eval's sweeps), else the pinned one (FOOTNOTE_FUSION), else the hits the
        # reader was fitted on: the neural reader was trained on the index's own fusion; the feature reader on
        # reciprocal-rank fusion's hits, and its features include the rank and the fusion score relative to
        # the top hit, so it reads the same kind of hits.
        reader_fusion = None if self.model.fusion == "index" else FusionParams()
        self.retriever = index.retriever(Mode.HYBRID, fusion=fusion or index.pinned_fusion or reader_fusion)
        self.cross = (load_cross(self.model.cross, self.settings.runtime, self.settings.precision)
                      if self.model.cross is not None else None)
        self._cross_kept: Kept[tuple[str, str, int, int], float] = Kept(CROSS_KEPT)
        # BM25's IDF gives an unseen term the most weight: that is the scale's top.
        weights = Weights(index.idf, index.known, index.idf("\u0000unseen"))
        self.features = Features(index, question_analyzer.terms, weights, min_words=self.settings.min_words)

    @classmethod
    def from_index_dir(cls, index_dir: Path, settings: AnswerSettings | None = None) -> Answerer:
        from footnote.index.load import load

        return cls(load(index_dir), settings)

    def _threshold(self, name: str) -> float:
        value = getattr(self.settings, name)
        return float(getattr(self.model, name) if value is None else value)

    # -- follow-ups ---------------------------------------------------------------------------------

    def standalone_query(self, request: AnswerRequest) -> str:
        """The query the answer searches: the follow-up rewrite the reader was most confident in."""
        previous, answer = self._thread(request)
        return self._pick(request.question, previous, answer, request.top_k)

    def _pick(self, question: str, previous: str | None, answer: str, top_k: int) -> str:
        queries = rewrite_candidates(question, previous, answer, self.index)
        return queries[0] if len(queries) == 1 else self._resolve(queries, top_k).query

    def _resolve(self, queries: list[str], top_k: int, said: Said = Said()) -> Reading:
        if len(queries) == 1:
            return self.read(queries[0], self.index.embed_query(queries[0]), top_k, said)
        # Every candidate rewrite embedded in one batch: one model call however many candidates.
        vectors = self.index.embed_queries(queries)
        readings = [self.read(q, v, top_k, said) for q, v in zip(queries, vectors, strict=True)]
        # Another referent replaces the rule-based one only when the reader is clearly more confident in it.
        best = max(readings[1:], key=lambda r: r.confidence)
        return best if logit(best.confidence) > logit(readings[0].confidence) + REFERENT_MARGIN else readings[0]

    def _thread(self, request: AnswerRequest) -> tuple[str | None, str]:
        """The previous question made standalone (each earlier follow-up resolved by the reader's pick among
        its candidate rewrites, so a thread of three or more turns keeps its referent) and its answer."""
        return earlier_question([(t.role, t.content) for t in request.history],
                                lambda text, previous, answer: self._pick(text, previous, answer, request.top_k))

    # -- the answer ---------------------------------------------------------------------------------

    def read(self, query: str, query_vector: np.ndarray, top_k: int, said: Said = Said()) -> Reading:
        """Retrieve for ``query`` and score every quotable sentence of the hits, most probable first.

        ``said``: what the conversation's earlier answers said (``already_said``); a sentence they already
        quoted is not quoted again unless ``said`` allows it.
        """
        hits = self.retriever.search(query, top_k, query_vector=query_vector)
        sentences = self.features.rows(query, query_vector, hits)
        if said.texts:
            terms_of = self.features.terms_of
            sentences = [s for s in sentences
                         if not self._repeats(s, said.texts) or said.allows(terms_of(s.doc_id, s.start, s.end))]
        sentences, probs = self.scored(query, sentences)
        order = np.argsort(-probs, kind="stable")
        ranked = [sentences[i] for i in order]
        confidence = self.model.confidence(ranked[0].features, float(probs[order[0]])) if ranked else 0.0
        return Reading(query, hits, ranked, probs[order], confidence)

    def scored(self, query: str, sentences: list[Sentence]) -> tuple[list[Sentence], np.ndarray]:
        """The sentences (with the cross-encoder's columns, for the neural reader) and the probability that
        each answers ``query``, in the order given."""
        if not sentences:
            return sentences, np.zeros(0)
        if self.cross is not None:
            sentences = self.read_closely(query, sentences)
        return sentences, self.model.probabilities(np.stack([s.features for s in sentences]))

    def read_closely(self, query: str, sentences: list[Sentence]) -> list[Sentence]:
        """The rows with ``CROSS_FEATURES`` added: the cross-encoder reads the ``read`` sentences the features
        alone rank highest (``preselect``) with the query; the others stand at ``UNREAD_LOGIT``, unread."""
        assert self.cross is not None and self.model.cross is not None and self.model.preselect is not None
        pre = self.model.preselect(np.stack([s.features for s in sentences]))
        pre_logits = [logit(float(p)) for p in pre]
        chosen = [int(i) for i in np.argsort(-pre, kind="stable")[: self.model.cross.read]]
        keys = [(query, sentences[i].doc_id, sentences[i].start, sentences[i].end) for i in chosen]
        cross = self.cross

        def score(missing: list[tuple[str, str, int, int]]) -> list[float]:
            at = {key: i for key, i in zip(keys, chosen, strict=True)}
            return [float(x) for x in cross.scores(query, [self.candidate_text(sentences[at[k]]) for k in missing])]

        logits = self._cross_kept.get_many(keys, score)
        out = []
        for sent, pre_logit in zip(sentences, pre_logits, strict=True):
            key = (query, sent.doc_id, sent.start, sent.end)
            extra = [logits[key], 1.0] if key in logits else [UNREAD_LOGIT, 0.0]
            out.append(replace(sent, features=np.concatenate([sent.features, extra, [pre_logit]])))
        return out

    def candidate_text(self, sent: Sentence) -> str:
        """What the cross-encoder reads of a candidate: the sentence, its heading, the sentence before it."""
        return candidate_text(self.index.passage(sent.passage_id), self.index.documents[sent.doc_id].text,
                              sent.start, sent.end)

    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        """``hits`` reordered by how likely their best sentence is to answer ``query`` (the reader's sentence
        probability, with the cross-encoder's reading), which becomes each hit's score. A passage with no
        quotable sentence scores 0; ties keep the retrieval order."""
        if not hits:
            return []
        sentences, probs = self.scored(query, self.features.rows(query, self.index.embed_query(query), hits))
        best: dict[str, float] = {}
        for sent, prob in zip(sentences, probs, strict=True):
            best[sent.passage_id] = max(best.get(sent.passage_id, 0.0), float(prob))
        order = sorted(range(len(hits)), key=lambda i: (-best.get(hits[i].passage.id, 0.0), i))
        return [replace(hits[i], score=round(best.get(hits[i].passage.id, 0.0), 6)) for i in order]

    def best_reading(self, request: AnswerRequest) -> Reading:
        previous, answer = self._thread(request)
        queries = rewrite_candidates(request.question, previous, answer, self.index)
        return self._resolve(queries, request.top_k, already_said(
            request.question, [(t.role, t.content) for t in request.history], self.index))

    def _repeats(self, sent: Sentence, said: Sequence[str]) -> bool:
        """Whether an earlier answer quoted this sentence: its opening (the first ``REPEAT_CHARS``, or all of a
        shorter one) is in it, so a client that cut the earlier answer short still counts."""
        text = " ".join(self.index.documents[sent.doc_id].text[sent.start : sent.end].split())[:REPEAT_CHARS]
        return any(text in earlier for earlier in said)

    def answer(self, request: AnswerRequest) -> Answer:
        reading = self.best_reading(request)
        passages = [PassageOut.of(hit, self.page_map(hit.passage.doc_id)) for hit in reading.hits]
        confidence = round(reading.confidence, 4)
        chosen = self.choose(reading)
        if not chosen:
            return Answer(answer=NOT_FOUND, grounded=False, confidence=confidence, query=reading.query,
                          footnotes=[], passages=passages)
        footnotes = [self._footnote(n, sent, prob) for n, (sent, prob) in enumerate(chosen, 1)]
        text = "\n\n".join(f"“{note.quote}” [{note.n}]" for note in footnotes)
        uncertain = reading.confidence < self._threshold("confident_from")
        if uncertain:
            text = f"{MAY_NOT_ANSWER}\n\n{text}"
        return Answer(answer=text, grounded=True, confidence=confidence, uncertain=uncertain, query=reading.query,
                      footnotes=footnotes, passages=passages)

    def choose(self, reading: Reading) -> list[tuple[Sentence, float]]:
        """The quotes: the best sentence if it clears ``abstain_below``, then others clearing ``quote_bar``."""
        s = self.settings
        if reading.confidence < self._threshold("abstain_below"):
            return []
        bar = max(self._threshold("quote_bar"), self._threshold("abstain_below"))
        chosen: list[tuple[Sentence, float]] = []
        taken: list[tuple[str, int, int]] = []  # the quoted spans, a pointing-back quote reaching back included
        for sent, prob in zip(reading.sentences, reading.probs, strict=True):
            if len(chosen) >= s.max_quotes or (chosen and prob < bar):
                break
            if chosen and max(float(sent.vector @ c.vector) for c, _ in chosen) >= s.duplicate_cosine:
                continue
            # Two quotes never overlap: a sentence already inside a quote (or a quote that would reach back
            # over one) is the same statement again.
            start, end = self.span(sent)
            if any(doc == sent.doc_id and start < e and s_ < end for doc, s_, e in taken):
                continue
            taken.append((sent.doc_id, start, end))
            chosen.append((sent, float(prob)))
        return chosen

    def span(self, sent: Sentence) -> tuple[int, int]:
        """The quote's span: the sentence, reaching back one sentence when it opens by pointing back."""
        doc_text = self.index.documents[sent.doc_id].text
        if not POINTS_BACK.match(doc_text[sent.start : sent.end]):
            return sent.start, sent.end
        spans = self.index.passage(sent.passage_id).sentences
        i = next((k for k, sp in enumerate(spans) if sp[0] == sent.start), 0)
        if i == 0 or is_bare_line(doc_text[spans[i - 1][0] : spans[i - 1][1]], doc_text, spans[i - 1][0]):
            return sent.start, sent.end  # nothing before it in the passage, or only a heading
        return spans[i - 1][0], sent.end

    def _footnote(self, n: int, sent: Sentence, prob: float) -> Footnote:
        start, end = self.span(sent)
        note = Footnote.of(n, self.index.documents[sent.doc_id], self.index.passage(sent.passage_id), start, end,
                           self.page_map(sent.doc_id))
        return note.model_copy(update={"confidence": round(prob, 4)})

    def page_map(self, doc_id: str) -> PageMap | None:
        """The document's page map when it is a PDF (``service.where``): its pages and glyph boxes."""
        return page_map(self.index, self.index.documents[doc_id])
