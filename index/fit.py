"""Fitting the hybrid fusion weight to one corpus at ingest, with no labels.

Pseudo-queries come from the corpus itself: a sampled passage with at least two sentences loses one to
``MAX_HELD`` sentences (chosen with a fixed seed), and each of them, as a query, should find the passage it
came from. Both retrievers search a copy of the corpus in which every sampled passage lacks its held-out
sentences (BM25 is rebuilt over it, the changed passages re-embedded), so neither finds its answer by
matching the sentence itself. Re-embedding is nearly all of the fit's cost, so at most ``REEMBED_SHARE`` of
the passages (at least ``MIN_REEMBED``, at most ``SAMPLE``) are sampled; a small corpus gets several
queries from each, a large one (``SAMPLE`` passages) one from each.
Each retriever's hit rates are measured, then the convex weight ``dense_weight`` in ``0, 0.05, ...,
1`` (``bm25_weight = 1 - dense_weight``) that ranks the pseudo-queries' passages best (MRR@10) is kept.
A model that cannot read the corpus (MiniLM on Arabic) fails its pseudo-queries and gets weight 0,
which turns dense off: hybrid is then exactly BM25.

The same seed, corpus and model give the same weights (the sample, the grid and its tie-break are
deterministic). The fit and its evidence go into the manifest (``fusion``); ``needs_refit`` keeps them
until the corpus has really changed: more than ``REFIT_CHANGE`` of its passages and more than ``REFIT_CHANGE``
of its documents (at least ``REFIT_MIN_DOCUMENTS`` of them) new, changed or gone since the fit, counted across
updates. Documents, not requests or bytes: a burst of small junk uploads, or one huge junk file, does not
switch everyone's ranking.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from footnote.index.hybrid import FusionFit, FusionParams, fuse
from footnote.index.lexical import BM25Retriever, build_bm25
from footnote.index.text import dense_text, lexical_text
from footnote.ingest.models import Document, Passage

SEED = 0
SAMPLE = 200  # pseudo-queries at most: enough to tell 0.05 of weight apart
# Re-embedding passages without their held-out sentences is nearly all of the fit's cost: at most this share
# of the corpus's passages (and at least MIN_REEMBED, so a small corpus still has queries) is embedded again.
REEMBED_SHARE = 0.25
MIN_REEMBED = 10
MAX_HELD = 3  # sentences held out of one re-embedded passage, each its own pseudo-query
MIN_WORDS = 5  # a shorter sentence ("See Table 2.") says too little to be a query
DEPTH = 50  # the fusion depth the weight is fitted at (FusionParams.depth)
GRID = tuple(round(0.05 * i, 2) for i in range(21))
# A mixed weight moves only this share of the way from 0.5 to the pseudo-query optimum: sentences taken
# from a passage are long and worded like it, which favours dense more than real questions do. Chosen on
# the shipped eval's dev half (docs/benchmarks.md, Hybrid fusion), from 0, 0.25, 0.5, 0.75 and 1.
SHRINK = 0.25
MIN_GAIN = 0.01  # MRR@10 a mix must add over the better retriever alone
REFIT_CHANGE = 0.2  # re-fit when more than this share of passages (and of documents) is new or gone since the fit
REFIT_MIN_DOCUMENTS = 10  # and at least this many documents are new, changed or gone
METHOD = "held-out sentence"
_WORD = re.compile(r"\w+")

Embed = Callable[[Sequence[str]], np.ndarray]


def reembed_budget(passages: int, sample: int = SAMPLE) -> int:
    """How many passages the fit may embed again: a ``REEMBED_SHARE`` of the corpus (at least
    ``MIN_REEMBED``, at most ``sample``), which bounds the fit's share of an ingest's embedding work."""
    return min(sample, max(MIN_REEMBED, math.ceil(REEMBED_SHARE * passages)))


def _pseudo_queries(documents: dict[str, Document], passages: Sequence[Passage], seed: int,
                    sample: int) -> list[tuple[int, list[tuple[int, str]], Passage]]:
    """(row, [(sentence number, held-out sentence)], the passage without them) for up to
    ``reembed_budget`` passages, at most ``sample`` sentences in all."""
    rng = np.random.default_rng(seed)
    eligible: list[tuple[int, list[int]]] = []
    for row, p in enumerate(passages):
        if len(p.sentences) < 2:
            continue
        text = documents[p.doc_id].text
        ok = [j for j, (s, e) in enumerate(p.sentences) if len(_WORD.findall(text[s:e])) >= MIN_WORDS]
        if ok:
            eligible.append((row, ok))
    budget = min(reembed_budget(len(passages), sample), len(eligible))
    chosen = sorted(rng.choice(len(eligible), size=budget, replace=False).tolist()) if eligible else []
    # Each re-embedded passage gives up to MAX_HELD sentences, so a small corpus still gets enough queries
    # (a large one, where the budget reaches ``sample`` passages, one each); never more than ``sample`` in all.
    per_passage = max(1, sample // budget) if budget else 0
    out = []
    for i in chosen:
        row, ok = eligible[i]
        p = passages[row]
        text = documents[p.doc_id].text
        take = min(MAX_HELD, per_passage, len(ok), len(p.sentences) // 2)  # the passage keeps half, at least
        # One sentence is drawn as the first fit drew it, so large corpora (the BEIR sets) keep their fits.
        held = [ok[int(rng.integers(len(ok)))]] if take == 1 else \
            sorted(ok[int(j)] for j in rng.choice(len(ok), size=take, replace=False))
        # The passage without its held-out sentences; for one sentence, the text the single hold-out made.
        cuts = [p.start, *[x for j in held for x in p.sentences[j]], p.end]
        gaps = [text[a:b] for a, b in zip(cuts[::2], cuts[1::2], strict=True)]
        pieces = [gaps[0].rstrip(), *(gap.strip() for gap in gaps[1:-1]), gaps[-1].lstrip()]
        rest = " ".join(piece for piece in pieces if piece).strip()
        kept = tuple(span for j, span in enumerate(p.sentences) if j not in held)
        queries = [(j, text[p.sentences[j][0]:p.sentences[j][1]]) for j in held]
        out.append((row, queries, replace(p, text=rest, sentences=kept)))
    return out


def _rates(ranks: Sequence[int | None]) -> dict[str, float]:
    n = max(len(ranks), 1)
    return {"hit@1": sum(r == 1 for r in ranks) / n,
            "hit@10": sum(r is not None and r <= 10 for r in ranks) / n,
            "mrr@10": sum(1.0 / r for r in ranks if r is not None and r <= 10) / n}


def _rank(rows: Sequence[int], target: int) -> int | None:
    for i, row in enumerate(rows, 1):
        if row == target:
            return i
    return None


def fit_fusion(documents: dict[str, Document], passages: Sequence[Passage], passage_vectors: np.ndarray,
               embed: Embed, *, sentence_vectors: np.ndarray | None = None,
               sentence_offsets: np.ndarray | None = None, seed: int = SEED, sample: int = SAMPLE) -> FusionFit:
    """The fitted ``FusionParams`` and the evidence, for the manifest's ``fusion``.

    ``sentence_vectors``/``sentence_offsets`` (as stored): the held-out sentences' vectors are taken from
    there instead of being embedded again (the same text gives the same vector).
    """
    groups = _pseudo_queries(documents, passages, seed, sample)
    # (target row, sentence number, sentence) per pseudo-query, in passage order
    queries = [(row, j, sentence) for row, held, _ in groups for j, sentence in held]
    # Best-sentence scoring stays off: it raised the shipped eval's hit@1 (0.80 -> 0.85) but let one passage
    # with a single on-topic sentence outrank the passage both retrievers put first (tests/index/test_retrieval.py).
    base = FusionParams(method="convex", dense_weight=0.5, bm25_weight=0.5, depth=DEPTH)
    if len(queries) < 10:  # too little text to measure: plain equal weights, said so
        return FusionFit(base, fitted=False, seed=seed, method=METHOD, pseudo_queries=len(queries),
                         passages=len(passages), documents=len(documents),
                         why="fewer than 10 pseudo-queries: too few passages with two sentences or more")
    rows = [row for row, _, _ in queries]
    lexical = [lexical_text(p) for p in passages]
    vectors = np.array(passage_vectors, dtype=np.float32, copy=True)
    for row, _, held_passage in groups:
        lexical[row] = lexical_text(held_passage)
    vectors[[row for row, _, _ in groups]] = embed([dense_text(held_passage) for _, _, held_passage in groups])
    if sentence_vectors is not None and sentence_offsets is not None and len(sentence_vectors):
        q_vecs = np.asarray(sentence_vectors[[int(sentence_offsets[row]) + j for row, j, _ in queries]],
                            dtype=np.float32)
    else:
        q_vecs = embed([q for _, _, q in queries])
    bm25 = BM25Retriever(build_bm25(lexical), passages)
    sims = q_vecs @ vectors.T
    lists = []
    for i, (_, _, query) in enumerate(queries):
        top = np.argsort(-sims[i], kind="stable")[:DEPTH]
        lists.append(([int(r) for r in top], [float(sims[i, r]) for r in top], bm25.search_rows(query, DEPTH)))
    dense_ranks = [_rank(d, row) for (d, _, _), row in zip(lists, rows, strict=True)]
    bm25_ranks = [_rank(b[0], row) for (_, _, b), row in zip(lists, rows, strict=True)]
    grid: dict[float, dict[str, float]] = {}
    for w in GRID:
        params = replace(base, dense_weight=w, bm25_weight=round(1 - w, 2))
        ranks = [_rank([r for r, _ in fuse((d, s), b, params, 10)], row)
                 for (d, s, b), row in zip(lists, rows, strict=True)]
        grid[w] = _rates(ranks)
    # Best MRR@10; among equals the weight nearest 0.5 (both retrievers), then the lower dense weight. A mix
    # must beat the better retriever alone by MIN_GAIN, else that one alone is kept: a gain smaller than a
    # few pseudo-queries is noise, and a retriever reading noise (dense on an unknown language) is better off.
    best = max(GRID[1:-1], key=lambda w: (round(grid[w]["mrr@10"], 6), -abs(w - 0.5), -w))
    alone = 1.0 if grid[1.0]["mrr@10"] > grid[0.0]["mrr@10"] else 0.0
    if grid[best]["mrr@10"] < grid[alone]["mrr@10"] + MIN_GAIN:
        best = alone
    weight = best if best in (0.0, 1.0) else round(round((0.5 + SHRINK * (best - 0.5)) / 0.05) * 0.05, 2)
    params = replace(base, dense_weight=weight, bm25_weight=round(1 - weight, 2))
    return FusionFit(
        params, fitted=True, seed=seed, method=METHOD, pseudo_queries=len(queries), passages=len(passages),
        documents=len(documents),
        evidence={"dense": _rates(dense_ranks), "bm25": _rates(bm25_ranks), "best_weight": best,
                  "reembedded_passages": len(groups),
                  "hybrid": grid[weight] if weight in grid else grid[best],
                  "grid_mrr@10": {f"{w:g}": round(grid[w]["mrr@10"], 4) for w in GRID}},
    )


def needs_refit(previous: FusionFit | None, passages: int, changed: int, *, documents: int | None = None,
                documents_changed: int | None = None) -> bool:
    """Whether a new fit is worth it: none yet, or more than ``REFIT_CHANGE`` of the passages new or gone
    (``changed``) and, when ``documents_changed`` is given, more than ``REFIT_CHANGE`` of the ``documents``
    and at least ``REFIT_MIN_DOCUMENTS`` new, changed or gone since the fit."""
    if previous is None or previous.method != METHOD:
        return True
    if not changed > REFIT_CHANGE * max(previous.passages, passages, 1):
        return False
    if documents_changed is None:
        return True
    fitted_on = previous.documents or documents or 0
    return documents_changed >= REFIT_MIN_DOCUMENTS and documents_changed > REFIT_CHANGE * max(
        fitted_on, documents or 0, 1)


def summary(fusion: FusionFit) -> str:
    """One line for ``footnote ingest`` and logs: the weights and the hit rates they came from."""
    params = fusion.params
    line = f"fusion: {params.describe()}"
    ev = fusion.evidence
    if ev:
        line += (f"; fitted on {fusion.pseudo_queries} pseudo-queries ({fusion.method}, seed "
                 f"{fusion.seed}): MRR@10 dense {ev['dense']['mrr@10']:.2f}, bm25 {ev['bm25']['mrr@10']:.2f}, "
                 f"hybrid {ev['hybrid']['mrr@10']:.2f}")
        if params.dense_weight == 0:
            line += " (the model does not read this corpus: dense is off)"
    elif fusion.why:
        line += f"; not fitted: {fusion.why}"
    return line
