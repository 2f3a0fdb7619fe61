"""``footnote eval`` through click, on the real index."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from footnote.cli import main


def test_eval_writes_reports_and_compares(corpus_index: Path, small_set: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "first"
    result = runner.invoke(main, ["eval", str(small_set), "--index", str(corpus_index), "--modes", "bm25,hybrid",
                                  "--report", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("3 questions (2 answerable, 1 follow-ups)")
    assert lines[1].split() == ["retrieval", "bm25", "hybrid"]
    assert f"wrote {out / 'report.json'}" in lines and f"wrote {out / 'report.html'}" in lines
    report = json.loads((out / "report.json").read_text("utf-8"))
    assert report["config"]["modes"] == ["bm25", "hybrid"]
    assert report["config"]["sets"] == [str(small_set)]

    again = runner.invoke(main, ["eval", str(small_set), "--index", str(corpus_index), "--modes", "bm25",
                                 "--compare", str(out / "report.json")])
    assert again.exit_code == 0, again.output
    assert "compared with the report of " + report["created"] in again.output
    assert "regressed (0):" in again.output


def test_eval_errors_are_one_line(corpus_index: Path, small_set: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    bad_mode = runner.invoke(main, ["eval", str(small_set), "--index", str(corpus_index), "--modes", "sparse"])
    assert bad_mode.exit_code == 2
    assert bad_mode.output.strip() == "error: unknown search mode 'sparse': use one of hybrid, dense, bm25"
    missing = runner.invoke(main, ["eval", str(small_set), "--index", str(tmp_path / "none")])
    assert missing.exit_code == 1
    assert missing.output.strip() == f"error: no index at {tmp_path / 'none'}: run `footnote ingest` first"
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "x"}\n', "utf-8")
    bad_set = runner.invoke(main, ["eval", str(broken), "--index", str(corpus_index)])
    assert bad_set.exit_code == 2
    assert bad_set.output.strip() == f"error: {broken}:1: missing question, answerable"
    not_report = tmp_path / "not-a-report.json"
    not_report.write_text("[]", "utf-8")
    bad_compare = runner.invoke(main, ["eval", str(small_set), "--index", str(corpus_index), "--compare",
                                       str(not_report)])
    assert bad_compare.exit_code == 2
    assert bad_compare.output.strip() == f"error: {not_report}: not a report.json written by `footnote eval`"
