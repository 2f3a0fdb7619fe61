"""The feature reader: the logistic regressions over the features alone, fitted on the shipped set's tune side
(``footnote train-reader --features-only``), and the pieces the neural reader's stack reuses
(``train_neural.py``): reading questions as the answer step reads them, the fit, the thresholds.

Data: the shipped set (eval/sets/default.jsonl) and 40 off-topic questions (eval/sets/offtopic.jsonl) on the
shipped corpus. Every question's standalone query is read once (top 5 hybrid passages, every quotable sentence
a feature row); a sentence is labelled as answering when it holds an expected answer or overlaps the
question's evidence, and a question by whether it is answerable. Only questions on the ``tune`` side of
``eval.split`` are used: to fit the two logistic regressions (plain numpy Newton steps with an L2 penalty:
deterministic, no random state) and, on out-of-fold confidences (five fixed folds), to choose the three
thresholds. The SQuAD 2.0 article (eval/sets/normans.json) is not fitted on at all: both its halves are
unseen, and `footnote eval --squad` reports them. Fitting on its tune half as well was tried: out of fold it
moved neither set's figures up, and its adversarial questions (worded like answerable ones) pulled the
abstention bar up for every corpus (docs/reader.md). The data files' sha256 are recorded in the output,
and running it again on the same data writes the same numbers. eval/sets/blind.jsonl (80 questions written by
people who never saw the reader's answers) is not fitted on either, nor is eval/sets/wiki-topics.jsonl.

    footnote train-reader --features-only [--out DIR] [--work bench-results/reader]
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from footnote.eval.dataset import DEFAULT_SET
from footnote.service.answering.model import PARAMS

# Questions about the corpus's world that its documents do not answer: the shipped set has only ten.
OFFTOPIC = DEFAULT_SET.with_name("offtopic.jsonl")
# The L2 penalties are chosen out of fold on the tune side, by log-loss (a proper score, so the probabilities
# stay calibrated): the sentence model's first, then the answer model's with it.
L2_GRID = (1.0, 3.0, 10.0, 30.0)
QUOTE_PRECISION = 0.8
CONFIDENT = 0.9  # the answer's confidence from which it is not flagged as uncertain
TOP_K = 5
DIGITS = 6
FOLDS = 5


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_index(folders: list[Path], target: Path) -> Path:
    """An index of ``folders`` at ``target``, built (or brought up to date) with the default passage settings."""
    from footnote.index.build import update_from_settings
    from footnote.settings import Settings

    update_from_settings(folders, Settings(), index_dir=target, echo=lambda line: None)
    return target


def collect(answerer: Any, questions: list[Any], evidence_only: bool = False) -> list[dict[str, Any]]:
    """Per question: its side of the split, whether answerable, its standalone query, and its sentences' features,
    labels, texts and what the cross-encoder reads of them. A sentence answers when it overlaps the question's
    evidence, or (unless ``evidence_only``) holds one of its answers."""
    from footnote.eval import metrics as m
    from footnote.eval.split import side, split_key
    from footnote.service.answering.answerer import already_said
    from footnote.service.answering.rewrite import standalone

    out = []
    for q in questions:
        # The rule-based rewrite, not the reader's pick among candidates: the fit must not depend on the model.
        query = standalone(q.question, q.history, answerer.index)
        said = already_said(q.question, q.history, answerer.index)
        reading = answerer.read(query, answerer.index.embed_query(query), TOP_K, said)
        doc = answerer.index.documents.get(q.doc or "")
        spans = [s for snippet in q.evidence for s in m.locate(snippet, doc.text)] if doc is not None else []
        rows, labels, texts, seconds = [], [], [], []
        for sent in reading.sentences:
            text = answerer.index.documents[sent.doc_id].text[sent.start : sent.end]
            positive = q.answerable and ((not evidence_only and m.answer_found(q.answers, [text])) or (
                sent.doc_id == q.doc and m.evidence_quoted(spans, [(sent.start, sent.end)])))
            rows.append(sent.features)
            labels.append(bool(positive))
            texts.append(text)
            seconds.append(answerer.candidate_text(sent))
        key = split_key(q)
        out.append({"id": q.id, "key": key, "side": side(key), "answerable": q.answerable, "query": query,
                    "rows": np.asarray(rows).reshape(len(rows), -1), "labels": np.asarray(labels, dtype=bool),
                    "texts": texts, "seconds": seconds, "doc": q.doc, "kind": q.kind})
    return out


def rounded(value: float) -> float:
    """A fitted number with fixed digits, so reruns write the same bytes."""
    return round(float(value), DIGITS)


def _top_ok(items: list[dict[str, Any]], probs: list[np.ndarray]) -> np.ndarray:
    """Per question: whether its most probable sentence answers it."""
    return np.asarray([bool(it["labels"][int(np.argmax(p))]) if len(p) else False
                       for it, p in zip(items, probs, strict=True)])


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float, steps: int = 50) -> tuple[np.ndarray, float]:
    """L2-penalised logistic regression by Newton's method on standardised features (intercept unpenalised)."""
    n, d = x.shape
    a = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(a @ w, -40, 40)))
        grad = a.T @ (p - y) + penalty * w
        hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(penalty) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.max(np.abs(step))) < 1e-10:
            break
    return w[:-1], float(w[-1])


def _correct_rate(items: list[dict[str, Any]], conf: np.ndarray, found: np.ndarray, t: float) -> float:
    answered = conf >= t
    ok = [(a and f if it["answerable"] else not a) for it, a, f in zip(items, answered, found, strict=True)]
    return float(np.mean(ok)) if ok else 0.0


def thresholds(items: list[dict[str, Any]], probs: list[np.ndarray], conf: np.ndarray,
               abstain_below: float | None = None) -> dict[str, float]:
    """The three thresholds, from out-of-fold probabilities of the tune side.

    abstain_below: the confidence is the probability that the documents answer the question. Answering is
    right with probability ``conf * q`` (``q``: how often the best sentence of an answerable question answers
    it) and abstaining with ``1 - conf``, so answering pays from ``conf >= 1 / (1 + q)`` (unless
    ``abstain_below`` is given: a cut chosen by another rule). Taking the cut from
    this rule rather than from the best correctness over a grid keeps it off the noise of a few questions (the
    curve, printed, is flat within one or two questions over a wide range). confident_from: ``CONFIDENT``;
    quote_bar: where further quotes hold the answer 80% of the time.
    """
    top_ok = _top_ok(items, probs)
    grid = np.round(np.arange(0.02, 0.96, 0.01), 2)
    answerable = np.asarray([bool(it["answerable"]) for it in items])
    q = float(top_ok[answerable].mean()) if answerable.any() else 1.0
    abstain = round(1.0 / (1.0 + q), 2) if abstain_below is None else abstain_below
    for t in grid[::5]:
        print(f"  t={t:.2f} correct {_correct_rate(items, conf, top_ok, float(t)):.3f}", file=sys.stderr)
    print(f"  best sentence answers {q:.3f} of answerable questions: abstain below {abstain:.2f} "
          f"(correct {_correct_rate(items, conf, top_ok, abstain):.3f})", file=sys.stderr)
    # The confidence is a probability fitted with a proper scoring rule (log-loss, the L2 chosen out of fold),
    # so "the documents may not answer this" is said while it is below CONFIDENT. (A cut where answers given are
    # right 90% of the time rests on a handful of questions: with other penalties it was never reached.)
    confident = max(CONFIDENT, abstain)
    band = (conf >= abstain) & (conf < confident)
    print(f"  uncertain band {abstain:.2f}..{confident:.2f}: {int(band.sum())} questions, "
          f"{float(np.mean(answerable[band])) if band.any() else float('nan'):.3f} of them answerable", file=sys.stderr)
    extra = [(float(prob), bool(lab)) for it, p, c in zip(items, probs, conf, strict=True) if len(p) and c >= abstain
             for prob, lab in sorted(zip(p, it["labels"], strict=True), key=lambda pl: -pl[0])[1:3]]
    bar = 0.99
    for t in grid:
        kept = [lab for prob, lab in extra if prob >= t]
        if kept and np.mean(kept) >= QUOTE_PRECISION:
            bar = float(t)
            break
    return {"abstain_below": abstain, "confident_from": confident, "quote_bar": bar}


def _print_tune(items: list[dict[str, Any]], probs: list[np.ndarray], conf: np.ndarray, abstain: float) -> None:
    """Figures on the tune side (what the fit saw): the held-out ones come from `footnote eval`."""
    from footnote.eval.metrics import auroc

    answerable = [it["answerable"] for it in items]
    print(f"tune: {len(items)} questions, AUROC {auroc(list(conf), answerable):.3f}, "
          f"correct {_correct_rate(items, conf, _top_ok(items, probs), abstain):.3f}", file=sys.stderr)


def _fold(key: str) -> int:
    """A fixed fold for a question (a hash of its id or group, like eval/split.py), so reruns choose the same
    thresholds. For a question that names no group the key is its id, so the shipped set's folds are unchanged."""
    return int.from_bytes(hashlib.sha256(f"fold:{key}".encode()).digest()[:8], "big") % FOLDS


def fit_models(tune: list[dict[str, Any]], l2: float, l2_answer: float) -> tuple[Any, Any]:
    """The sentence model on every sentence row, then the answer model on each question's best sentence."""
    from footnote.service.answering.model import Logistic, question_row

    x = np.vstack([it["rows"] for it in tune if len(it["rows"])])
    y = np.concatenate([it["labels"] for it in tune if len(it["rows"])]).astype(np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    coef, intercept = fit_logistic((x - mean) / scale, y, l2)
    sentence = Logistic(mean, scale, coef, intercept)
    answered = [(it, sentence(it["rows"])) for it in tune if len(it["rows"])]
    qx = np.vstack([question_row(it["rows"][int(np.argmax(p))], float(p.max())) for it, p in answered])
    # The answer's confidence is the probability that the documents answer the question at all (the AUROC the
    # reports measure): a wrong best sentence for an answerable question is the sentence model's error, and
    # abstaining would not make that answer right.
    qy = np.asarray([float(it["answerable"]) for it, _ in answered])
    qmean = qx.mean(axis=0)
    qscale = qx.std(axis=0)
    qscale[qscale < 1e-9] = 1.0
    qcoef, qintercept = fit_logistic((qx - qmean) / qscale, qy, l2_answer)
    return sentence, Logistic(qmean, qscale, qcoef, qintercept)


def _score(item: dict[str, Any], sentence: Any, answer: Any) -> tuple[np.ndarray, float]:
    """A question's sentence probabilities and its answer confidence under these models."""
    from footnote.service.answering.model import question_row

    p = sentence(item["rows"])
    if not len(p):
        return p, 0.0
    return p, float(answer(question_row(item["rows"][int(np.argmax(p))], float(p.max()))[None, :])[0])


def _out_of_fold(tune: list[dict[str, Any]], l2: float, l2_answer: float) -> tuple[list[np.ndarray], np.ndarray]:
    """Every tune question's sentence probabilities and confidence from models fitted without its fold."""
    probs, conf = [np.zeros(0)] * len(tune), np.zeros(len(tune))
    for k in range(FOLDS):
        inside = {i for i, it in enumerate(tune) if _fold(it["key"]) == k}
        s_k, a_k = fit_models([it for i, it in enumerate(tune) if i not in inside], l2, l2_answer)
        for i in sorted(inside):
            probs[i], conf[i] = _score(tune[i], s_k, a_k)
    return probs, conf


def _log_losses(tune: list[dict[str, Any]], probs: list[np.ndarray], conf: np.ndarray) -> tuple[float, float]:
    """Mean log-loss of the sentence probabilities (every row) and of the confidences (every question)."""
    p = np.clip(np.concatenate([q for q in probs if len(q)]), 1e-9, 1 - 1e-9)
    y = np.concatenate([it["labels"] for it, q in zip(tune, probs, strict=True) if len(q)])
    c = np.clip(conf, 1e-9, 1 - 1e-9)
    a = np.asarray([it["answerable"] for it in tune], dtype=np.float64)
    return (float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))),
            float(-np.mean(a * np.log(c) + (1 - a) * np.log(1 - c))))


def train(corpus_index: Path, corpus: Path) -> dict[str, Any]:
    from footnote.eval.dataset import load_sets
    from footnote.index.load import load
    from footnote.service.answering.answerer import Answerer
    from footnote.service.answering.features import ANSWER_FEATURES, FEATURES
    from footnote.service.answering.model import Model

    # A model with zero weights: features do not depend on the model, and the fit must not either.
    answerer = Answerer(load(corpus_index), model=Model.neutral())
    items = collect(answerer, load_sets([DEFAULT_SET, OFFTOPIC]))
    tune = [it for it in items if it["side"] == "tune"]
    scores = {(l2, l2a): _log_losses(tune, *_out_of_fold(tune, l2, l2a)) for l2 in L2_GRID for l2a in L2_GRID}
    for (l2, l2a), (sent_ll, ans_ll) in scores.items():
        print(f"  l2 {l2:g} / {l2a:g}: out-of-fold log-loss sentences {sent_ll:.4f}, answers {ans_ll:.4f}",
              file=sys.stderr)
    l2 = min(L2_GRID, key=lambda v: (round(scores[(v, L2_GRID[0])][0], DIGITS), v))
    l2_answer = min(L2_GRID, key=lambda v: (round(scores[(l2, v)][1], DIGITS), v))
    sentence, answer = fit_models(tune, l2, l2_answer)
    # Thresholds are chosen on out-of-fold confidences: in-sample ones are optimistic (the answer model has
    # seen these very questions), so a bar chosen on them misjudges unseen questions.
    probs, conf = _out_of_fold(tune, l2, l2_answer)
    chosen = thresholds(tune, probs, conf)
    _print_tune(tune, probs, conf, chosen["abstain_below"])
    y = np.concatenate([it["labels"] for it in tune if len(it["rows"])])
    r = rounded
    return {
        "about": "The reader's logistic regression, fitted by footnote train-reader on the tune split only.",
        "features": list(FEATURES),
        "sentence": {"mean": [r(v) for v in sentence.mean], "scale": [r(v) for v in sentence.scale],
                     "coef": [r(v) for v in sentence.coef], "intercept": r(sentence.intercept)},
        "answer": {"inputs": ["logit(best sentence probability)", *ANSWER_FEATURES],
                   "mean": [r(v) for v in answer.mean], "scale": [r(v) for v in answer.scale],
                   "coef": [r(v) for v in answer.coef], "intercept": r(answer.intercept)},
        "thresholds": {k: r(v) for k, v in chosen.items()},
        "meta": {
            "l2": l2, "l2_answer": l2_answer, "l2_grid": list(L2_GRID), "quote_precision": QUOTE_PRECISION,
            "confident": CONFIDENT, "top_k": TOP_K,
            "folds": FOLDS, "answer_label": "answerable",
            "rows": int(len(y)), "positives": int(y.sum()),
            "tune_questions": len(tune),
            "split": "eval/split.py (seed 11, half held out): by question",
            "data_sha256": {
                "eval/sets/default.jsonl": sha256(DEFAULT_SET),
                "eval/sets/offtopic.jsonl": sha256(OFFTOPIC),
                **{f"corpus/{p.name}": sha256(p) for p in sorted(corpus.glob("*"))},
            },
        },
    }


def main(out: Path = PARAMS, work: Path = Path("bench-results/reader"), corpus: Path = Path("corpus"),
         corpus_index: Path | None = None) -> dict[str, Any]:
    """Fit and write ``out``; the indexes are built under ``work`` unless ``corpus_index`` is given."""
    corpus_index = corpus_index or build_index([corpus], work / "corpus-index")
    params = train(corpus_index, corpus)
    out.write_text(json.dumps(params, indent=1) + "\n", "utf-8")
    print(f"wrote {out}: thresholds {params['thresholds']}", file=sys.stderr)
    return params
