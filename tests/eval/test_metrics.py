"""Our retrieval metrics against trec_eval (pytrec_eval) and ranx, and the answer metrics on exact cases."""

from __future__ import annotations

import random
import warnings

import pytest
import pytrec_eval

from footnote.eval import metrics as m


def _synthetic(seed: int, ties: bool) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, int]]]:
    rng = random.Random(seed)
    run: dict[str, dict[str, float]] = {}
    qrels: dict[str, dict[str, int]] = {}
    for q in range(12):
        qid = f"q{q}"
        docs = [f"d{d:03d}" for d in rng.sample(range(300), 120)]
        # Coarse scores make many ties; fine ones make none.
        run[qid] = {d: (rng.randint(0, 6) / 2 if ties else rng.random()) for d in docs}
        judged = rng.sample(docs[:40], 6) + [f"d{d:03d}" for d in rng.sample(range(300, 320), 2)]
        qrels[qid] = {d: rng.choice([0, 1, 1, 2, 3]) for d in judged}
        qrels[qid][judged[0]] = 2  # at least one relevant
    return run, qrels


TREC = {
    "hit@1": "success_1", "hit@5": "success_5", "hit@10": "success_10",
    "recall@5": "recall_5", "recall@10": "recall_10", "recall@100": "recall_100",
    "ndcg@10": "ndcg_cut_10", "map": "map",
}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("ties", [False, True])
def test_matches_trec_eval(seed: int, ties: bool) -> None:
    run, qrels = _synthetic(seed, ties)
    theirs = pytrec_eval.RelevanceEvaluator(qrels, {"success", "recall", "ndcg_cut", "map", "recip_rank"}).evaluate(run)
    _, ours = m.evaluate(run, qrels)
    binary = {q: {d: min(g, 1) for d, g in grades.items()} for q, grades in qrels.items()}
    theirs_binary = pytrec_eval.RelevanceEvaluator(binary, {"ndcg_cut"}).evaluate(run)
    for qid in qrels:
        for name, trec_name in TREC.items():
            assert ours[qid][name] == pytest.approx(theirs[qid][trec_name], abs=1e-9), (qid, name)
        assert ours[qid]["ndcg@10_binary"] == pytest.approx(theirs_binary[qid]["ndcg_cut_10"], abs=1e-9)
        rr = theirs[qid]["recip_rank"]
        assert ours[qid]["mrr@10"] == pytest.approx(rr if rr >= 0.1 else 0.0, abs=1e-9)


@pytest.mark.parametrize("seed", [4, 5])
@pytest.mark.parametrize("ties", [False, True])
def test_matches_ranx(seed: int, ties: bool) -> None:
    from ranx import Qrels, Run, evaluate

    run, qrels = _synthetic(seed, ties)
    # ranx orders tied documents its own way: hand it trec_eval's order as distinct scores.
    ordered = {q: {d: float(-i) for i, d in enumerate(m.rank(scores))} for q, scores in run.items()}
    names = {"hit@3": "hit_rate@3", "mrr@10": "mrr@10", "ndcg@10": "ndcg@10", "map": "map",
             "recall@10": "recall@10"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = evaluate(Qrels(qrels), Run(ordered), list(names.values()), return_mean=False)
    _, ours = m.evaluate(run, qrels)
    for i, qid in enumerate(sorted(qrels)):
        for name, ranx_name in names.items():
            assert ours[qid][name] == pytest.approx(float(theirs[ranx_name][i]), abs=1e-9), (qid, name)


def test_ties_follow_trec_eval_doc_id_descending() -> None:
    assert m.rank({"a": 1.0, "b": 1.0, "c": 1.0, "z": 0.5}) == ["c", "b", "a", "z"]
    theirs = pytrec_eval.RelevanceEvaluator({"q": {"a": 1}}, {"recip_rank"}).evaluate({"q": {"a": 1.0, "c": 1.0}})
    assert theirs["q"]["recip_rank"] == 0.5
    assert m.query_metrics({"a": 1.0, "c": 1.0}, {"a": 1})["mrr@10"] == 0.5


def test_mean_counts_queries_missing_from_the_run_as_zero() -> None:
    mean, per_query = m.evaluate({"q1": {"a": 1.0}}, {"q1": {"a": 1}, "q2": {"b": 1}})
    assert per_query["q2"]["hit@10"] == 0.0
    assert mean["hit@1"] == 0.5
    assert mean["mrr@10"] == 0.5


def test_exact_values_on_a_hand_run() -> None:
    scores = {"p1": 0.9, "p2": 0.8, "p3": 0.7, "p4": 0.6}
    grades = {"p2": 2, "p4": 1, "p9": 1}
    got = m.query_metrics(scores, grades)
    assert got["hit@1"] == 0.0 and got["hit@3"] == 1.0
    assert got["mrr@10"] == 0.5
    assert got["recall@5"] == pytest.approx(2 / 3)
    assert got["map"] == pytest.approx((1 / 2 + 2 / 4) / 3)
    dcg = 2 / m.math.log2(3) + 1 / m.math.log2(5)
    idcg = 2 + 1 / m.math.log2(3) + 1 / m.math.log2(4)
    assert got["ndcg@10"] == pytest.approx(dcg / idcg)


def test_locate_matches_across_white_space() -> None:
    text = "Rapidus is partnering\nwith IBM and  imec. Rapidus is partnering with IBM"
    assert m.locate("Rapidus is partnering with IBM", text) == [(0, 30), (42, 72)]
    assert m.locate("with IBM", text) == [(22, 30), (64, 72)]
    assert m.locate("   ", text) == []


def test_passage_grade_whole_partial_and_none() -> None:
    evidence = [(100, 160)]
    assert m.passage_grade((90, 200), evidence) == 2
    assert m.passage_grade((130, 300), evidence) == 1  # 30 of 60 characters: half
    assert m.passage_grade((131, 300), evidence) == 0  # 29 of 60
    assert m.passage_grade((0, 100), evidence) == 0
    assert m.text_grade("Rapidus is partnering\n with IBM.", ["partnering with IBM"]) == 2
    assert m.text_grade("Rapidus partners with IBM.", ["partnering with IBM"]) == 0


def test_answer_found_is_case_and_space_insensitive() -> None:
    assert m.answer_found(["IBM"], ["Rapidus is partnering with ibm"])
    assert m.answer_found(["five and eight times"], ["by five and\neight times over"])
    assert not m.answer_found(["IBM"], ["Rapidus is partnering with imec"])
    assert not m.answer_found([], ["anything"])


def test_evidence_quoted_definition() -> None:
    evidence = [(100, 200)]
    assert m.evidence_quoted(evidence, [(50, 250)])  # quote holds the snippet
    assert m.evidence_quoted(evidence, [(120, 150)])  # a 30-character quote inside it
    assert not m.evidence_quoted(evidence, [(120, 149)])  # 29 characters is not enough
    assert m.evidence_quoted(evidence, [(170, 400)])  # overlaps by 30
    assert m.evidence_quoted([(10, 20)], [(0, 15), (15, 20)]) is False  # short snippet: all 10 needed in one quote
    assert m.evidence_quoted([(10, 20)], [(0, 25)])
    assert not m.evidence_quoted([], [(0, 25)])


def test_is_verbatim() -> None:
    text = "Japan ranked fourth overall."
    assert m.is_verbatim("fourth", text, 13, 19)
    assert not m.is_verbatim("fourth ", text, 13, 19)
    assert not m.is_verbatim("", text, 40, 40)
    assert not m.is_verbatim("fourth", None, 13, 19)


def test_abstention_scores() -> None:
    got = m.abstention_scores([True, True, False, False, True], [False, True, False, True, False])
    assert got["abstention_precision"] == pytest.approx(2 / 3)
    assert got["abstention_recall"] == pytest.approx(2 / 3)
    none = m.abstention_scores([False, False], [True, False])
    assert none["abstention_precision"] is None and none["abstention_recall"] == 0.0


def test_percentile_matches_numpy() -> None:
    import numpy as np

    values = [0.3, 0.1, 0.9, 0.25, 0.7, 0.11, 2.0]
    for p in (0, 50, 95, 100):
        assert m.percentile(values, p) == pytest.approx(float(np.percentile(values, p)))
    assert m.percentile([], 50) == 0.0


def test_the_sign_test_is_exact_and_two_sided() -> None:
    from footnote.eval.metrics import sign_test

    assert sign_test(0, 0) == 1.0
    assert sign_test(3, 3) == 1.0
    assert sign_test(5, 0) == 2 / 32  # 5 of 5 one way: 1/32 each side
    assert sign_test(28, 44) == sign_test(44, 28)
    assert round(sign_test(28, 44), 3) == 0.076
