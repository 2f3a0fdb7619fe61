"""Fit the reader (service/reader.json) on the tune side of the split; report figures on the held-out side.

Data: the shipped set (eval/sets/default.jsonl) and 40 off-topic questions (eval/sets/offtopic.jsonl) on the
shipped corpus, and the SQuAD 2.0 article
(eval/sets/normans.json) indexed through the normal ingest. Every question's standalone query is read once
(top 5 hybrid passages, every quotable sentence a feature row); a sentence is labelled as answering when it
holds an expected answer (SQuAD normalisation) or overlaps the question's evidence. Only questions on the
``tune`` side of ``eval.split`` are used to fit the logistic regression (plain numpy Newton steps with an L2
penalty: deterministic, no random state) and to choose the three thresholds. The data files' sha256 are
recorded in the output, and running it again on the same data writes the same numbers.

    .venv/bin/python benchmarks/train_reader.py [--out service/reader.json] [--work bench-results/reader]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# Questions about the corpus's world that its documents do not answer: the shipped set has only ten.
OFFTOPIC = ROOT / "eval" / "sets" / "offtopic.jsonl"
L2 = 1.0
L2_ANSWER = 10.0  # few questions, many features: the answer-level model is held closer to zero
QUOTE_PRECISION = 0.8
TOP_K = 5
DIGITS = 6


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def collect(answerer: Any, questions: list[Any], matching: str) -> list[dict[str, Any]]:
    """Per question: its side of the split, whether answerable, and its sentences' features and labels."""
    from footnote.eval import metrics as m
    from footnote.eval.split import side
    from footnote.service.models import AnswerRequest, Turn

    out = []
    for q in questions:
        request = AnswerRequest(question=q.question, top_k=TOP_K,
                                history=[Turn.model_validate({"role": r, "content": c}) for r, c in q.history])
        previous, answer = None, ""
        for turn in request.history:  # the rule-based rewrite: the fit must not depend on the model itself
            if turn.role == "user":
                previous = turn.content if previous is None else _first(answerer, turn.content, previous, answer)
                answer = ""
            else:
                answer = turn.content
        query = _first(answerer, q.question, previous, answer)
        reading = answerer.read(query, answerer.index.embed_query(query), TOP_K)
        doc = answerer.index.documents.get(q.doc or "")
        spans = [s for snippet in q.evidence for s in m.locate(snippet, doc.text)] if doc is not None else []
        rows, labels = [], []
        for sent in reading.sentences:
            text = answerer.index.documents[sent.doc_id].text[sent.start : sent.end]
            found = m.squad_answer_found if matching == "squad" else m.answer_found
            positive = q.answerable and (found(q.answers, [text]) or (
                sent.doc_id == q.doc and m.evidence_quoted(spans, [(sent.start, sent.end)])))
            rows.append(sent.features)
            labels.append(bool(positive))
        out.append({"id": q.id, "side": side(q.id), "answerable": q.answerable, "set": matching,
                    "rows": np.asarray(rows).reshape(len(rows), -1), "labels": np.asarray(labels, dtype=bool)})
    return out


def _first(answerer: Any, question: str, previous: str | None, answer: str) -> str:
    from footnote.service.rewrite import candidates

    return candidates(question, previous, answer, answerer.index, answerer._similar)[0]


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2, steps: int = 50) -> tuple[np.ndarray, float]:
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


def thresholds(items: list[dict[str, Any]], probs: list[np.ndarray], conf: np.ndarray) -> dict[str, float]:
    """abstain_below: best mean SQuAD-2.0-style correctness over the sets; confident_from: where answers
    given are right 90% of the time; quote_bar: where further quotes hold the answer 80% of the time."""
    top_ok = np.asarray([bool(it["labels"][int(np.argmax(p))]) if len(p) else False
                         for it, p in zip(items, probs, strict=True)])
    grid = np.round(np.arange(0.02, 0.96, 0.01), 2)
    sets = sorted({it["set"] for it in items})

    def score(t: float) -> float:
        per_set = []
        for name in sets:
            idx = [i for i, it in enumerate(items) if it["set"] == name]
            per_set.append(_correct_rate([items[i] for i in idx], conf[idx], top_ok[idx], t))
        return float(np.mean(per_set))

    abstain = float(max(grid, key=lambda t: (score(t), -t)))
    for t in grid[::5]:
        rates = [_correct_rate([it for it in items if it["set"] == n], conf[[i for i, it in enumerate(items)
                 if it["set"] == n]], top_ok[[i for i, it in enumerate(items) if it["set"] == n]], t) for n in sets]
        print(f"  t={t:.2f} correct {' '.join(f'{n}={v:.3f}' for n, v in zip(sets, rates, strict=True))}",
              file=sys.stderr)
    confident = abstain
    for t in grid[grid >= abstain]:
        answered = conf >= t
        if answered.sum() and top_ok[answered].mean() >= 0.9:
            confident = float(t)
            break
    extra = [(float(prob), bool(lab)) for it, p, c in zip(items, probs, conf, strict=True) if len(p) and c >= abstain
             for prob, lab in sorted(zip(p, it["labels"], strict=True), key=lambda pl: -pl[0])[1:3]]
    bar = 0.99
    for t in grid:
        kept = [lab for prob, lab in extra if prob >= t]
        if kept and np.mean(kept) >= QUOTE_PRECISION:
            bar = float(t)
            break
    return {"abstain_below": abstain, "confident_from": max(confident, abstain), "quote_bar": bar}


def _print_tune(items: list[dict[str, Any]], probs: list[np.ndarray], confs: np.ndarray, abstain: float) -> None:
    """Figures on the tune side (what the fit saw): the held-out ones come from `footnote eval`."""
    from footnote.eval.metrics import auroc

    for name in sorted({it["set"] for it in items}):
        idx = [i for i, it in enumerate(items) if it["set"] == name]
        conf = confs[idx]
        ok = np.asarray([bool(items[i]["labels"][int(np.argmax(probs[i]))]) if len(probs[i]) else False for i in idx])
        ans = [items[i]["answerable"] for i in idx]
        print(f"tune {name}: {len(idx)} questions, AUROC {auroc(list(conf), ans):.3f}, "
              f"correct {_correct_rate([items[i] for i in idx], conf, ok, abstain):.3f}", file=sys.stderr)


def train(corpus_index: Path, squad_index: Path, squad_file: Path) -> dict[str, Any]:
    from footnote.eval.dataset import DEFAULT_SET, load_sets
    from footnote.eval.squad import read_squad
    from footnote.index.store import load
    from footnote.service.answer import Answerer
    from footnote.service.reader import FEATURES, Logistic, Model, question_row

    # A model with zero weights: features do not depend on the model, and the fit must not either.
    answerer = Answerer(load(corpus_index), model=Model.neutral())
    items = collect(answerer, load_sets([DEFAULT_SET, OFFTOPIC]), "plain")
    _, squad_questions = read_squad(squad_file)
    items += collect(Answerer(load(squad_index), model=Model.neutral()), squad_questions, "squad")
    tune = [it for it in items if it["side"] == "tune"]
    x = np.vstack([it["rows"] for it in tune if len(it["rows"])])
    y = np.concatenate([it["labels"] for it in tune if len(it["rows"])]).astype(np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    coef, intercept = fit_logistic((x - mean) / scale, y)
    sentence = Logistic(mean, scale, coef, intercept)
    probs = [sentence(it["rows"]) for it in tune]
    # The answer-level model: the best sentence's row, labelled by whether it answers.
    answered = [(it, p) for it, p in zip(tune, probs, strict=True) if len(p)]
    qx = np.vstack([question_row(it["rows"][int(np.argmax(p))], float(p.max())) for it, p in answered])
    qy = np.asarray([float(it["labels"][int(np.argmax(p))]) for it, p in answered])
    qmean = qx.mean(axis=0)
    qscale = qx.std(axis=0)
    qscale[qscale < 1e-9] = 1.0
    qcoef, qintercept = fit_logistic((qx - qmean) / qscale, qy, l2=L2_ANSWER)
    answer = Logistic(qmean, qscale, qcoef, qintercept)
    conf = np.asarray([float(answer(question_row(it["rows"][int(np.argmax(p))], float(p.max()))[None, :])[0])
                       if len(p) else 0.0 for it, p in zip(tune, probs, strict=True)])
    chosen = thresholds(tune, probs, conf)
    _print_tune(tune, probs, conf, chosen["abstain_below"])
    r = lambda v: round(float(v), DIGITS)  # noqa: E731 - fixed digits make reruns byte-identical
    return {
        "about": "The reader's logistic regression, fitted by benchmarks/train_reader.py on the tune split only.",
        "features": list(FEATURES),
        "sentence": {"mean": [r(v) for v in mean], "scale": [r(v) for v in scale],
                     "coef": [r(v) for v in coef], "intercept": r(intercept)},
        "answer": {"inputs": ["logit(best sentence probability)", *FEATURES],
                   "mean": [r(v) for v in qmean], "scale": [r(v) for v in qscale],
                   "coef": [r(v) for v in qcoef], "intercept": r(qintercept)},
        "thresholds": {k: r(v) for k, v in chosen.items()},
        "meta": {
            "l2": L2, "l2_answer": L2_ANSWER, "quote_precision": QUOTE_PRECISION, "top_k": TOP_K,
            "rows": int(len(y)), "positives": int(y.sum()),
            "tune_questions": len(tune), "split": "by question, eval/split.py (seed 11, half held out)",
            "data_sha256": {
                "eval/sets/default.jsonl": sha256(DEFAULT_SET),
                "eval/sets/offtopic.jsonl": sha256(OFFTOPIC),
                "eval/sets/normans.json": sha256(squad_file),
                **{f"corpus/{p.name}": sha256(p) for p in sorted((ROOT / "corpus").glob("*"))},
            },
        },
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "service" / "reader.json")
    parser.add_argument("--work", type=Path, default=ROOT / "bench-results" / "reader")
    parser.add_argument("--corpus-index", type=Path, default=None, help="An index of corpus/ built with defaults.")
    parser.add_argument("--squad", type=Path, default=ROOT / "eval" / "sets" / "normans.json")
    args = parser.parse_args(argv)

    from footnote.eval.squad import read_squad, squad_index
    from footnote.index.build import update_index
    from footnote.settings import Settings

    corpus_index = args.corpus_index
    if corpus_index is None:
        corpus_index = args.work / "corpus-index"
        s = Settings()
        update_index([ROOT / "corpus"], corpus_index, chunk_tokens=s.chunk_tokens, overlap=s.chunk_overlap,
                     echo=lambda line: None)
    files, _ = read_squad(args.squad)
    params = train(corpus_index, squad_index(files, args.work / "squad"), args.squad)
    args.out.write_text(json.dumps(params, indent=1) + "\n", "utf-8")
    print(f"wrote {args.out}: thresholds {params['thresholds']}", file=sys.stderr)
    return params


if __name__ == "__main__":
    main()
