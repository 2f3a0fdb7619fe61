"""Calibrate the answer step's grounding threshold and sentence-scoring weights on an eval set.

For each question the candidates (every sentence of the top-k hybrid passages, for the rewritten query)
are scored once per weight setting; a grid over (semantic weight, min_score, min_semantic) then decides
which questions would be answered, and how often an expected answer is quoted. Prints the best settings
by a balance of answer-found rate and abstention F1, and the current defaults' figures.

    .venv/bin/python benchmarks/calibrate_answers.py [--set eval/sets/default.jsonl] [--index DIR]
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", type=Path, default=ROOT / "eval" / "sets" / "default.jsonl")
    parser.add_argument("--index", type=Path, default=ROOT / "bench-results" / "corpus-index")
    parser.add_argument("--chunk-tokens", type=int, default=160)
    args = parser.parse_args()

    from footnote.eval.dataset import load_set
    from footnote.index.build import update_index
    from footnote.service.answer import Answerer, AnswerSettings
    from footnote.service.models import AnswerRequest, Turn

    update_index([ROOT / "corpus"], args.index, chunk_tokens=args.chunk_tokens, overlap=0, echo=lambda s: None)
    answerer = Answerer.from_index_dir(args.index)
    questions = load_set(args.set)
    prepared = []
    for q in questions:
        request = AnswerRequest(question=q.question, history=[Turn(role=r, content=c) for r, c in q.history])
        query = answerer.standalone_query(request)
        vector = answerer.index.embed_query(query)
        hits = answerer.retriever.search(query, request.top_k, query_vector=vector)
        prepared.append((q, query, vector, hits))

    def evaluate(settings: AnswerSettings) -> dict[str, float]:
        answerer.settings = settings
        found = abst_tp = abst_fp = abst_fn = answerable = 0
        for q, query, vector, hits in prepared:
            chosen = answerer._choose(query, vector, hits)
            if not q.answerable:
                abst_tp += not chosen
                abst_fn += bool(chosen)
                continue
            answerable += 1
            abst_fp += not chosen
            text = " ".join(answerer.index.documents[c.doc_id].text[c.start : c.end] for c in chosen).lower()
            found += any(a.lower() in text for a in q.answers)
        precision = abst_tp / (abst_tp + abst_fp) if abst_tp + abst_fp else 0.0
        recall = abst_tp / (abst_tp + abst_fn) if abst_tp + abst_fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"found": found / answerable, "abst_p": precision, "abst_r": recall, "abst_f1": f1,
                "false_abst": abst_fp / answerable}

    base = AnswerSettings()
    print("defaults:", {k: round(v, 3) for k, v in evaluate(base).items()}, base)
    results = []
    for sem_w, min_score, min_sem, floor in itertools.product(
        (0.4, 0.55, 0.7), (0.3, 0.35, 0.4, 0.45, 0.5), (0.3, 0.35, 0.4, 0.45, 0.5), (0.7, 0.8, 0.9)
    ):
        settings = replace(base, semantic_weight=sem_w, lexical_weight=1 - sem_w, min_score=min_score,
                           min_semantic=min_sem, relative_floor=floor)
        m = evaluate(settings)
        results.append((m["found"] + m["abst_f1"], m, settings))
    results.sort(key=lambda r: -r[0])
    for _, m, s in results[:10]:
        print({k: round(v, 3) for k, v in m.items()}, f"sem_w={s.semantic_weight} min_score={s.min_score} "
              f"min_sem={s.min_semantic} floor={s.relative_floor}")


if __name__ == "__main__":
    main()
