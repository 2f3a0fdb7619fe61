"""The runner on the real index and answerer, report.json / report.html, and compare."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from footnote.eval.compare import compare, format_compare
from footnote.eval.metrics import RETRIEVAL_METRICS
from footnote.eval.report import format_table, hit_curve_svg, render_html, write_reports


def _by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["id"]: q for q in report["questions"]}


def test_relevant_passages_are_the_ones_holding_the_evidence(small_report: dict[str, Any],
                                                             corpus_index: Path) -> None:
    from footnote.index.load import load

    index = load(corpus_index)
    holding = [p.id for p in index.passages if "Rapidus is partnering with IBM" in p.text]
    assert len(holding) == 1
    follow_up = _by_id(small_report)["follow-up"]
    assert follow_up["relevant"] == {holding[0]: 2}
    # The follow-up is searched as the answerer rewrote it, not as asked.
    assert follow_up["question"] == "Who is it partnering with?"
    assert "Rapidus" in follow_up["query"]
    assert follow_up["retrieval"]["hybrid"]["hits"][0]["passage_id"] == holding[0]
    assert follow_up["retrieval"]["hybrid"]["rank"] == 1
    assert follow_up["answer"]["answer_found"] is True


def test_report_json_shape(small_report: dict[str, Any], tmp_path: Path) -> None:
    assert small_report["config"]["questions"] == 3
    assert small_report["config"]["answerable"] == 2
    assert small_report["config"]["with_history"] == 1
    assert list(small_report["retrieval"]) == ["hybrid", "dense", "bm25"]
    for values in small_report["retrieval"].values():
        assert set(RETRIEVAL_METRICS) <= set(values)
        assert values["hit@10"] == 1.0
    assert small_report["answers"]["verbatim"] == 1.0
    assert small_report["answers"]["answer_found"] == 1.0
    assert set(small_report["answers"]) >= {"evidence_quoted", "abstention_precision", "abstention_recall",
                                            "latency_p50_ms", "latency_p95_ms", "false_abstention"}
    assert len(small_report["hit_curve"]["hybrid"]) == 10
    markup = _by_id(small_report)["<b>markup</b>"]
    assert markup["relevant"] == {} and markup["retrieval"]["bm25"]["rank"] is None
    json_path, html_path = write_reports(small_report, tmp_path / "out")
    assert json.loads(json_path.read_text("utf-8")) == json.loads(json.dumps(small_report))
    assert html_path.read_text("utf-8").startswith("<!DOCTYPE html>")


def test_html_is_self_contained_and_escaped(small_report: dict[str, Any]) -> None:
    page = render_html(small_report)
    assert "<script" not in page and "<link" not in page and " src=" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; the population of Osaka?" in page
    assert "&lt;b&gt;markup&lt;/b&gt;" in page and "<b>markup</b>" not in page
    assert page.count("<svg") == 3  # hit@k curves, the latency histogram, risk-coverage
    assert "aria-label=\"risk-coverage: precision vs coverage\"" in page
    assert "They also support Rapidus, a startup aiming the mass production of 2nm semiconductors by 2027." in page


def test_html_lists_failures_first() -> None:
    rows = [
        {"id": id_, "kind": "factual", "question": "q", "query": "q", "history": [], "answers": ["x"],
         "answerable": True, "failures": failures, "answer": None,
         "retrieval": {"bm25": {"rank": rank, "hits": [], "metrics": {}}}}
        for id_, failures, rank in (("a-fine", [], 1), ("z-broken", ["bm25: evidence not in top 5"], None))
    ]
    report = {"config": {"questions": 2, "answerable": 2}, "created": "now", "answers": None,
              "retrieval": {"bm25": {name: 0.5 for name in RETRIEVAL_METRICS}}, "hit_curve": {"bm25": [0.5] * 10},
              "by_kind": {"factual": {"questions": 2, "bm25/hit@5": 0.5}}, "questions": rows}
    page = render_html(report)
    assert page.index("z-broken") < page.index("a-fine")
    assert page.count("<svg") == 1  # no answers, no latency histogram


def test_hit_curve_points_are_placed_by_value() -> None:
    svg = hit_curve_svg({"hybrid": [0.5] * 10, "x<y": [1.0] * 10})
    assert svg.count("<polyline") == 2
    assert "x&lt;y hit@1 = 1.000" in svg
    assert re.search(r'<circle cx="44.0" cy="120.0"', svg)  # 0.5 halfway up a 212-pixel plot from y=14


def test_terminal_table(small_report: dict[str, Any]) -> None:
    table = format_table(small_report)
    assert table.splitlines()[0].startswith("3 questions (2 answerable, 1 follow-ups)")
    assert re.search(r"^hit@1\s+1\.000\s+1\.000\s+1\.000$", table, re.M)
    assert re.search(r"^quotes verbatim\s+1\.000(\s+(1\.000|n/a))*$", table, re.M)
    failed = sum(1 for q in small_report["questions"] if q["failures"])
    assert table.splitlines()[-1].startswith(f"{failed} questions with a failure")


def test_compare_lists_improved_and_regressed_questions(small_report: dict[str, Any]) -> None:
    old = copy.deepcopy(small_report)
    new = copy.deepcopy(small_report)
    _by_id(old)["follow-up"]["answer"]["answer_found"] = False  # then fixed
    _by_id(old)["follow-up"]["retrieval"]["dense"]["rank"] = 4
    _by_id(new)["rapidus"]["retrieval"]["hybrid"]["rank"] = None  # then broken
    _by_id(old)["<b>markup</b>"]["answer"]["grounded"] = True  # answered before, abstains now
    _by_id(new)["<b>markup</b>"]["answer"]["grounded"] = False
    old["retrieval"]["hybrid"]["hit@1"] = 0.5
    result = compare(old, new)
    assert [r["id"] for r in result["improved"]] == ["follow-up", "<b>markup</b>"]
    assert result["improved"][0]["better"] == ["dense rank 4 -> 1", "answer found no -> yes"]
    assert result["improved"][1]["better"] == ["abstained no -> yes"]
    assert [(r["id"], r["worse"]) for r in result["regressed"]] == [("rapidus", ["hybrid rank 1 -> -"])]
    assert result["mixed"] == []
    assert result["deltas"]["hybrid"]["hit@1"] == {"old": 0.5, "new": 1.0, "delta": 0.5}
    text = format_compare(result)
    assert "  rapidus: hybrid rank 1 -> -" in text
    assert "hybrid: hit@1 0.500->1.000 (+0.500)" in text
    new["compare"] = result
    page = render_html(new)
    assert "<h3>regressed (1)</h3>" in page and "&lt;b&gt;markup&lt;/b&gt;" in page


def test_programmatic_sweep_api(corpus_index: Path, small_set: Path) -> None:
    """What a tuning sweep calls: fusion parameters reach the hybrid retriever; answers can be skipped."""
    from footnote.eval.assemble import flat_metrics
    from footnote.eval.dataset import load_set
    from footnote.eval.loop import evaluate_index
    from footnote.index.hybrid import FusionParams
    from footnote.index.load import load

    index = load(corpus_index)
    questions = load_set(small_set)
    report = evaluate_index(index, questions, modes=["hybrid", "bm25"], answers=False,
                            fusion=FusionParams(dense_weight=0.0))
    assert report["answers"] is None
    for q in report["questions"]:
        # With no dense weight, the fused ranking is the BM25 ranking.
        assert [h["passage_id"] for h in q["retrieval"]["hybrid"]["hits"]] == [
            h["passage_id"] for h in q["retrieval"]["bm25"]["hits"]]
    # Without answers the follow-up is still searched as the answerer would rewrite it.
    assert "Rapidus" in _by_id(report)["follow-up"]["query"]
    flat = flat_metrics(report)
    assert flat["hybrid/hit@1"] == flat["bm25/hit@1"] == 1.0
    assert not any(key.startswith("answers/") for key in flat)
