"""The shipped set through the real index and answerer must stay above eval/thresholds.json."""

from __future__ import annotations

import json
from typing import Any

from footnote.eval.run import THRESHOLDS, check_thresholds


def test_shipped_set_meets_thresholds(default_report: dict[str, Any]) -> None:
    limits = json.loads(THRESHOLDS.read_text("utf-8"))
    assert limits["answers"]["verbatim"] == 1.0
    assert check_thresholds(default_report) == []


def test_every_quote_is_verbatim(default_report: dict[str, Any]) -> None:
    notes = [f for q in default_report["questions"] for f in q["answer"]["footnotes"]]
    assert notes and all(f["verbatim"] for f in notes)
    assert default_report["answers"]["verbatim"] == 1.0


def test_every_answerable_question_has_a_relevant_passage(default_report: dict[str, Any]) -> None:
    missing = [q["id"] for q in default_report["questions"] if q["answerable"] and not q["relevant"]]
    assert missing == []
    assert default_report["config"]["questions"] >= 60


def test_thresholds_report_what_falls_below(default_report: dict[str, Any], tmp_path) -> None:
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"retrieval": {"bm25": {"hit@1": 1.01}}, "answers": {"verbatim": 1.0}}), "utf-8")
    below = check_thresholds(default_report, strict)
    assert len(below) == 1 and below[0].startswith("bm25 hit@1 ") and below[0].endswith(" < 1.01")
