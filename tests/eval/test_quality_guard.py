"""The shipped set through the real index and answerer must stay above eval/thresholds.json."""

from __future__ import annotations

import json
from typing import Any

from footnote.eval.dataset import BLIND_SET, DEFAULT_SET, WIKI_SET
from footnote.eval.thresholds import THRESHOLDS, check_thresholds, guard_lines, guarded_set


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


def test_blind_set_meets_its_thresholds(blind_report: dict[str, Any]) -> None:
    # Nothing was fitted on the blind set, so its minimums are over all 80 questions.
    assert blind_report["answers"]["questions"] == 80
    assert blind_report["answers"]["verbatim"] == 1.0
    assert check_thresholds(blind_report, which="blind") == []
    # The shipped set's held-out minimums are not the blind set's: it falls below some of them.
    assert check_thresholds(blind_report) != []
    assert guard_lines(blind_report, [BLIND_SET]) == [
        "blind set: nothing was fitted on it, so every column is on unseen questions",
        "thresholds (eval/thresholds.json, blind): met"]
    assert guard_lines(blind_report, [BLIND_SET, DEFAULT_SET]) == []


def test_wiki_topics_meet_their_thresholds(wiki_report: dict[str, Any]) -> None:
    # Documents of another kind, and nothing fitted on them: the minimums are over all 450 questions.
    assert wiki_report["answers"]["questions"] == 450
    assert wiki_report["config"]["passages"] > 300
    assert check_thresholds(wiki_report, which="wiki-topics") == []
    assert guard_lines(wiki_report, [WIKI_SET]) == [
        "wiki-topics set: nothing was fitted on it, so every column is on unseen questions",
        "thresholds (eval/thresholds.json, wiki-topics): met"]


def test_which_minimums_a_run_is_held_to(tmp_path) -> None:
    assert guarded_set([]) == "default"
    assert guarded_set([BLIND_SET]) == "blind"
    assert guarded_set([WIKI_SET]) == "wiki-topics"
    assert guarded_set([DEFAULT_SET, BLIND_SET]) is None
    assert guarded_set([tmp_path / "mine.jsonl"]) is None
