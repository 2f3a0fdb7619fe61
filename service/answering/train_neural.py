"""``footnote train-reader``: the reading corpus teaches a cross-encoder, and a stack on top of it
becomes the reader (``reader.json`` and ``cross-encoder.safetensors``).

1. Every question of the reading corpus (``eval/sets/reading``) and of the shipped set is read as the answer
   step reads it (``train.collect``: the rule-based rewrite of a follow-up, the top ``TOP_K`` passages of the
   index's own fusion, every quotable sentence a feature row).
2. ``preselect``: a logistic regression over the features alone, fitted on the train split, ranks each
   question's sentences; the cross-encoder reads the top ``READ``.
3. The cross-encoder is fine-tuned on the train split's questions as the answer step reads them (step 1): the
   ``READ`` sentences ``preselect`` ranks highest among the retrieved ones, which are the sentences the network
   reads at run time, with every retrieved sentence that answers. Follow-ups take part through their standalone
   query. Each answerable question also gives the sentences of its own document that overlap its evidence (so a
   question whose answer was not retrieved still teaches reading) and the near miss its writer named
   ("plausible"), among the sentences of the document's passages in the index. Unanswerable questions give
   negatives only. A retrieved sentence with the words of the evidence counts as answering wherever it lies,
   and one that holds the answer but not the evidence is left out (``settle_labels``). The dev split, read the
   same way, stops training (the state best on dev is kept).
   ``--cross-only`` trains the network alone and ``--cross FILE`` reuses one trained earlier.
4. The stack: the sentence and answer regressions of ``train.py``, over the features and the cross-encoder's
   logits, fitted on questions the network never trained on (the dev split of the reading corpus, and the
   shipped set's and off-topic tune sides), with the L2 penalties and the three thresholds chosen out of fold
   exactly as ``train.py`` chooses them. Where the network adds nothing, its weight falls.
5. Figures on the test split (never fitted on), by genre: top-1 (the best sentence answers) and AUROC.

Deterministic up to float rounding for a given seed; the data files' sha256 and the time each step took are
recorded in ``reader.json``'s meta.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from footnote.service.answering import train as lr
from footnote.service.answering.cross import WEIGHTS, CrossEncoder, Pair, TrainConfig, train_cross
from footnote.service.answering.features import ANSWER_FEATURES, FEATURES
from footnote.service.answering.model import CROSS_FEATURES, NEURAL_PARAMS, UNREAD_LOGIT, Logistic, logit

READ = 6
# Abstain only when the reader is this sure that nothing retrieved answers (the answer model's probability is
# calibrated out of fold): below it the answer is "not found"; between it and the confident bar, the closest
# sentence is quoted under "The documents may not answer this question". The feature reader's rule (answer when
# that pays on average, 1 / (1 + top-1)) declines too much once the training mix holds 40% near misses.
NOTHING_ANSWERS = 0.7
PRESELECT_L2 = 10.0
# settle_labels: a sentence of at least SAME_WORDS words inside an evidence snippet answers wherever it is; an
# answer string of at least ANSWER_CHARS characters makes a sentence that holds it unsure.
SAME_WORDS = 4
ANSWER_CHARS = 4
_NOT_AN_ANSWER = frozenset({"yes", "no", "none"})


def _reading_questions() -> tuple[list[Any], dict[str, dict[str, Any]]]:
    from footnote.eval import reading
    from footnote.eval.dataset import load_sets

    docs = {row["doc_id"]: row for row in reading.documents()}
    files = sorted(reading.QUESTIONS.glob("*.jsonl"))
    return load_sets(files), docs


def _fraction_keeps(doc_id: str, fraction: float) -> bool:
    """Whether a train document is in the first ``fraction`` of train documents (a hash, so 25% is in 50%)."""
    value = int.from_bytes(hashlib.sha256(f"curve:{doc_id}".encode()).digest()[:8], "big") / 2**64
    return value < fraction


def _preselect(items: list[dict[str, Any]]) -> Logistic:
    x = np.vstack([it["rows"] for it in items if len(it["rows"])])
    y = np.concatenate([it["labels"] for it in items if len(it["rows"])]).astype(np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    coef, intercept = lr.fit_logistic((x - mean) / scale, y, PRESELECT_L2)
    return Logistic(mean, scale, coef, intercept)


def _read_order(item: dict[str, Any], pre: Logistic) -> np.ndarray:
    return np.argsort(-pre(item["rows"]), kind="stable") if len(item["rows"]) else np.zeros(0, dtype=int)


def document_pairs(questions: list[Any], wanted: set[str], index: Any) -> list[Pair]:
    """For the questions in ``wanted`` that are not follow-ups: the sentences of their own document (as
    ``index`` cut it into passages) that overlap the evidence (positives), and the near miss the writer named
    (a negative); each reads as the answer step shows it (``answerer.candidate_text``)."""
    from footnote.eval import metrics as m
    from footnote.eval import reading
    from footnote.service.answering.answerer import candidate_text

    plausible = {row["id"]: row["plausible"] for row in reading.questions() if row.get("plausible")}
    asked = [q for q in questions if q.id in wanted and not q.history]
    docs = {q.doc for q in asked}
    sentences: dict[str, list[tuple[int, int, str]]] = {doc_id: [] for doc_id in docs}
    for passage in index.passages:
        if passage.doc_id in docs:
            text = index.documents[passage.doc_id].text
            sentences[passage.doc_id] += [(start, end, candidate_text(passage, text, start, end))
                                          for start, end in passage.sentences if len(text[start:end].split()) >= 4]
    out: list[Pair] = []
    for q in asked:
        text = index.documents[q.doc].text
        spans = [s for e in q.evidence for s in m.locate(e, text)]
        near = list(m.locate(plausible[q.id], text)) if q.id in plausible else []
        for start, end, second in sentences[q.doc]:
            if any(start < pe and ps < end for ps, pe in spans):
                out.append(Pair(q.question, second, True, q.id))
            elif any(start < pe and ps < end for ps, pe in near):
                out.append(Pair(q.question, second, False, q.id))
    return out


def settle_labels(items: list[dict[str, Any]], questions: list[Any]) -> list[dict[str, Any]]:
    """The items with labels the network can learn from. A retrieved sentence is labelled by where it lies (it
    overlaps the evidence's offsets), so the same words elsewhere (a document that repeats its own sentence, two
    documents that share a paragraph) would teach the network that the answer does not answer. Such a sentence
    (the words of an evidence snippet, at least ``SAME_WORDS`` of them) becomes a positive. A sentence that
    holds one of the question's answers (of at least ``ANSWER_CHARS`` characters, other than yes, no or none)
    but not its evidence may answer it in other words or may not: it is left out of training (``unsure``)
    rather than taught either way, as dense retrievers leave out negatives that hold the answer. Words are
    compared as SQuAD compares answers (``squad_normalize``)."""
    from footnote.eval import metrics as m

    by_id = {q.id: q for q in questions}
    out = []
    for it in items:
        q = by_id.get(it["id"])
        if q is None or not q.answerable or not len(it["labels"]):
            out.append(it)
            continue
        evidence = [m.squad_normalize(e) for e in q.evidence]
        answers = [a for a in q.answers
                   if len(m.squad_normalize(a)) >= ANSWER_CHARS and m.squad_normalize(a) not in _NOT_AN_ANSWER]
        labels, unsure = it["labels"].copy(), np.zeros(len(it["labels"]), dtype=bool)
        for i, text in enumerate(it["texts"]):
            if labels[i]:
                continue
            words = m.squad_normalize(text)
            if len(words.split()) >= SAME_WORDS and any(words in e for e in evidence):
                labels[i] = True
            elif m.squad_answer_found(answers, [text]):
                unsure[i] = True
        out.append({**it, "labels": labels, "unsure": unsure})
    return out


def retrieved_pairs(items: list[dict[str, Any]], pre: Logistic, read: int = READ) -> list[Pair]:
    """What the network reads at run time, per question: the ``read`` retrieved sentences ``pre`` ranks highest,
    and every retrieved sentence that answers (so a positive ranked lower is learnt too), under the question's
    standalone query; a sentence marked ``unsure`` (``settle_labels``) is left out."""
    out: list[Pair] = []
    for it in items:
        if not len(it["rows"]):
            continue
        chosen = [int(i) for i in _read_order(it, pre)[:read]]
        chosen += [int(i) for i in np.flatnonzero(it["labels"]) if int(i) not in chosen]
        unsure = it.get("unsure")
        out += [Pair(it["query"], it["seconds"][i], bool(it["labels"][i]), it["id"]) for i in chosen
                if unsure is None or not unsure[i]]
    return out


def training_pairs(items: list[dict[str, Any]], pre: Logistic, extra: list[Pair]) -> list[Pair]:
    """The retrieved pairs, then the document's pairs they do not already hold (same question, same text)."""
    pairs = retrieved_pairs(items, pre)
    seen = {(p.group, p.second) for p in pairs}
    return pairs + [p for p in extra if (p.group, p.second) not in seen]


def _with_cross(items: list[dict[str, Any]], pre: Logistic, cross: CrossEncoder,
                echo: Callable[[str], None]) -> list[dict[str, Any]]:
    """The items with ``CROSS_FEATURES`` added to their rows, as the answerer adds them."""
    out = []
    started = time.monotonic()
    for n, it in enumerate(items, 1):
        rows = it["rows"]
        extra = np.tile([UNREAD_LOGIT, 0.0, 0.0], (len(rows), 1))
        if len(rows):
            chosen = [int(i) for i in _read_order(it, pre)[:READ]]
            extra[chosen, 0] = cross.scores(it["query"], [it["seconds"][i] for i in chosen])
            extra[chosen, 1] = 1.0
            extra[:, 2] = [logit(float(p)) for p in pre(rows)]
        out.append({**it, "rows": np.hstack([rows, extra]) if len(rows) else
                    rows.reshape(0, len(FEATURES) + len(CROSS_FEATURES))})
        if n % 200 == 0:
            echo(f"  read {n}/{len(items)} questions closely ({time.monotonic() - started:.0f} s)")
    return out


STACK_INPUTS = "stack-inputs.npz"


def save_stack_inputs(items: list[dict[str, Any]], path: Path) -> None:
    """What the stack is fitted on, as plain arrays (no pickle): every question's rows (features and the
    cross-encoder's columns), labels, fold key and whether it is answerable. A test refits the stack from it."""
    lengths = np.asarray([len(it["rows"]) for it in items], dtype=np.int64)
    np.savez_compressed(
        path, rows=np.vstack([it["rows"] for it in items]).astype(np.float64),
        labels=np.concatenate([it["labels"] for it in items]).astype(bool), lengths=lengths,
        keys=np.asarray([it["key"] for it in items]), ids=np.asarray([it["id"] for it in items]),
        answerable=np.asarray([it["answerable"] for it in items], dtype=bool))


def load_stack_inputs(path: Path) -> list[dict[str, Any]]:
    with np.load(path, allow_pickle=False) as data:
        ends = np.cumsum(data["lengths"])
        starts = ends - data["lengths"]
        return [{"id": str(i), "key": str(k), "answerable": bool(a), "rows": data["rows"][s:e],
                 "labels": data["labels"][s:e]}
                for i, k, a, s, e in zip(data["ids"], data["keys"], data["answerable"], starts, ends, strict=True)]


def fit_stack(stack: list[dict[str, Any]]) -> tuple[float, float, Logistic, Logistic, dict[str, float]]:
    """The stack's penalties (chosen out of fold by log-loss), its two regressions, and the three thresholds
    (chosen on out-of-fold confidences), exactly as the feature reader's are chosen (``train.py``)."""
    scores = {(a, b): lr._log_losses(stack, *lr._out_of_fold(stack, a, b)) for a in lr.L2_GRID for b in lr.L2_GRID}
    l2 = min(lr.L2_GRID, key=lambda v: (round(scores[(v, lr.L2_GRID[0])][0], lr.DIGITS), v))
    l2_answer = min(lr.L2_GRID, key=lambda v: (round(scores[(l2, v)][1], lr.DIGITS), v))
    sentence, answer = lr.fit_models(stack, l2, l2_answer)
    probs, conf = lr._out_of_fold(stack, l2, l2_answer)
    chosen = lr.thresholds(stack, probs, conf, abstain_below=round(1 - NOTHING_ANSWERS, 2))
    return l2, l2_answer, sentence, answer, chosen


def _figures(items: list[dict[str, Any]], sentence: Logistic, answer: Logistic) -> dict[str, float]:
    from footnote.eval.metrics import auroc

    conf, top = [], []
    for it in items:
        p, c = lr._score(it, sentence, answer)
        conf.append(c)
        if it["answerable"]:
            top.append(bool(len(p) and it["labels"][int(np.argmax(p))]))
    return {"questions": len(items), "top1": round(float(np.mean(top)), 4) if top else float("nan"),
            "auroc": round(auroc(conf, [it["answerable"] for it in items]) or float("nan"), 4)}


def _collected(reading_index: Path, corpus_index: Path, questions: list[Any], shipped_set: list[Any],
               neutral: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``train.collect`` on both indexes, kept beside the reading index (a work file, keyed by the questions
    and both indexes' manifests), since a learning curve reads the same questions several times."""
    import pickle

    from footnote.index.load import load
    from footnote.service.answering.answerer import Answerer

    key = hashlib.sha256(json.dumps([
        [q.to_dict() for q in questions], [q.to_dict() for q in shipped_set],
        (reading_index / "manifest.json").read_text("utf-8"), (corpus_index / "manifest.json").read_text("utf-8"),
    ], sort_keys=True).encode()).hexdigest()[:16]
    cache = reading_index.parent / f"collected-{key}.pickle"
    if cache.is_file():
        with open(cache, "rb") as f:
            kept: tuple[list[dict[str, Any]], list[dict[str, Any]]] = pickle.load(f)  # noqa: S301 - our own file
            return kept
    items = lr.collect(Answerer(load(reading_index), model=neutral), questions, evidence_only=True)
    shipped = lr.collect(Answerer(load(corpus_index), model=neutral), shipped_set)
    with open(cache, "wb") as f:
        pickle.dump((items, shipped), f)
    return items, shipped


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train(reading_index: Path, corpus_index: Path, corpus: Path, out_dir: Path = NEURAL_PARAMS.parent,
          fraction: float = 1.0, config: TrainConfig | None = None, limit: int | None = None,
          cross_file: Path | None = None, cross_only: bool = False,
          echo: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> dict[str, Any]:
    """Train the cross-encoder and the stack; write ``reader.json`` and the weights into ``out_dir``. ``limit``
    keeps only the first questions of each part (a quick check that the whole run works). ``cross_file``: a
    cross-encoder trained earlier (its ``.json`` beside it), reused; ``cross_only``: train it and stop."""
    from footnote.eval import reading
    from footnote.eval.dataset import DEFAULT_SET, load_sets
    from footnote.service.answering.model import Model

    times: dict[str, float] = {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        times[name] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()
        echo(f"{name}: {times[name]:.0f} s")

    questions, docs = _reading_questions()
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / WEIGHTS.name
    shipped_set = load_sets([DEFAULT_SET, lr.OFFTOPIC])
    items, shipped = _collected(reading_index, corpus_index, questions, shipped_set,
                                replace(Model.neutral(), fusion="index"))
    split_of = {q.id: docs[q.doc]["split"] for q in questions}
    genre_of = {q.id: docs[q.doc]["genre"] for q in questions}
    lap("collect")
    train_items = [it for it in items if split_of[it["id"]] == "train"]
    dev_items = [it for it in items if split_of[it["id"]] == "dev"]
    test_items = [it for it in items if split_of[it["id"]] == "test"]
    shipped_tune = [it for it in shipped if it["side"] == "tune"]
    if limit is not None:
        train_items, dev_items, test_items, shipped_tune = (
            part[:limit] for part in (train_items, dev_items, test_items, shipped_tune))
    pre = _preselect(train_items + shipped_tune)
    lap("preselect")

    if cross_file is None:
        from footnote.index.load import load

        share = [it for it in train_items if fraction >= 1.0 or _fraction_keeps(it["doc"], fraction)]
        kept = settle_labels(share, questions)
        added = sum(int(a["labels"].sum()) - int(b["labels"].sum()) for a, b in zip(kept, share, strict=True))
        unsure = sum(int(it["unsure"].sum()) for it in kept if "unsure" in it)
        echo(f"labels: {added} retrieved sentences with an evidence snippet's words become positives; {unsure} "
             "that hold an answer but not the evidence are left out")
        extra = document_pairs(questions, {it["id"] for it in kept}, load(reading_index))
        pairs = training_pairs(kept, pre, extra)
        dev_pairs = retrieved_pairs(dev_items, pre)
        echo(f"cross-encoder: {len(pairs)} pairs ({sum(p.label for p in pairs)} positive) from {len(kept)} train "
             f"questions; dev {len(dev_pairs)} pairs")
        trained = train_cross(pairs, dev_pairs, weights, config or TrainConfig(), echo=echo)
        (out_dir / "cross-encoder.json").write_text(json.dumps(trained, indent=1) + "\n", "utf-8")
    else:
        trained = json.loads(cross_file.with_suffix(".json").read_text("utf-8"))
        if cross_file.resolve() != weights.resolve():
            import shutil

            shutil.copyfile(cross_file, weights)
    lap("cross-encoder")
    if cross_only:
        return trained

    cross = CrossEncoder.load(weights, trained["sha256"])
    stack = _with_cross(dev_items + shipped_tune, pre, cross, echo)
    test = _with_cross(test_items, pre, cross, echo)
    lap("read closely")
    save_stack_inputs(stack, out_dir / STACK_INPUTS)
    l2, l2_answer, sentence, answer, chosen = fit_stack(stack)
    lap("stack")

    figures: dict[str, Any] = {"test": _figures(test, sentence, answer)}
    for genre in sorted(set(genre_of.values())):
        figures[f"test {genre}"] = _figures([it for it in test if genre_of[it["id"]] == genre], sentence, answer)
    # The network alone, for comparison: its best logit as the sentence ranking and the answer's score.
    echo("test figures: " + json.dumps(figures))

    r = lr.rounded
    params = {
        "about": "The reader's stacked logistic regressions over its features and its cross-encoder's logits, "
                 "fitted by footnote train-reader.",
        "features": list(FEATURES + CROSS_FEATURES),
        "fusion": "index",
        "preselect": {"mean": [r(v) for v in pre.mean], "scale": [r(v) for v in pre.scale],
                      "coef": [r(v) for v in pre.coef], "intercept": r(pre.intercept)},
        "cross": {"file": weights.name, "sha256": trained["sha256"], "read": READ},
        "sentence": {"mean": [r(v) for v in sentence.mean], "scale": [r(v) for v in sentence.scale],
                     "coef": [r(v) for v in sentence.coef], "intercept": r(sentence.intercept)},
        "answer": {"inputs": ["logit(best sentence probability)", *ANSWER_FEATURES, *CROSS_FEATURES],
                   "mean": [r(v) for v in answer.mean], "scale": [r(v) for v in answer.scale],
                   "coef": [r(v) for v in answer.coef], "intercept": r(answer.intercept)},
        "thresholds": {k: r(v) for k, v in chosen.items()},
        "meta": {
            "l2": l2, "l2_answer": l2_answer, "l2_grid": list(lr.L2_GRID), "preselect_l2": PRESELECT_L2,
            "quote_precision": lr.QUOTE_PRECISION, "confident": lr.CONFIDENT, "top_k": lr.TOP_K,
            "folds": lr.FOLDS, "answer_label": "answerable", "read": READ, "nothing_answers": NOTHING_ANSWERS,
            "train_fraction": fraction,
            "stack_questions": len(stack),
            "cross_encoder": {k: v for k, v in trained.items() if k != "history"},
            "cross_encoder_dev_history": trained["history"],
            "split": "eval/reading.py (seed 24, by document: 70% train, 10% dev, 20% test); "
                     "eval/split.py (seed 11) for the shipped set",
            "test_figures": figures, "seconds": times,
            "data_sha256": {
                "eval/sets/reading/documents.jsonl": _sha(reading.DOCUMENTS),
                **{f"eval/sets/reading/questions/{p.name}": _sha(p) for p in sorted(reading.QUESTIONS.glob("*.jsonl"))},
                "eval/sets/default.jsonl": _sha(DEFAULT_SET), "eval/sets/offtopic.jsonl": _sha(lr.OFFTOPIC),
                **{f"corpus/{p.name}": _sha(p) for p in sorted(corpus.glob("*"))},
            },
        },
    }
    (out_dir / NEURAL_PARAMS.name).write_text(json.dumps(params, indent=1) + "\n", "utf-8")
    echo(f"wrote {out_dir / NEURAL_PARAMS.name} and {weights.name} ({weights.stat().st_size / 1e6:.1f} MB): "
         f"thresholds {params['thresholds']}; {sum(times.values()):.0f} s in all")
    return params


def main(out_dir: Path = NEURAL_PARAMS.parent, work: Path = Path("bench-results/reader"), corpus: Path = Path("corpus"),
         corpus_index: Path | None = None, reading_index: Path | None = None, fraction: float = 1.0,
         epochs: float = TrainConfig.epochs, limit: int | None = None, cross_file: Path | None = None,
         cross_only: bool = False, layers: int = TrainConfig.layers) -> dict[str, Any]:
    from footnote.eval import reading

    corpus_index = corpus_index or lr.build_index([corpus], work / "corpus-index")
    reading_index = reading_index or lr.build_index([reading.ROOT / "docs"], work / "reading-index")
    return train(reading_index, corpus_index, corpus, out_dir, fraction, TrainConfig(epochs=epochs, layers=layers),
                 limit, cross_file, cross_only)
