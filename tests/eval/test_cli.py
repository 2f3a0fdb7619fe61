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


ACTORS = """# Film actors

## Alexander Engel

Alexander Engel (4 June 1902 – 25 July 1968) was a German film actor. He appeared in 73 films between 1932 and 1968.

## Dieter Borsche

Dieter Borsche (25 October 1909 – 5 August 1982) was a German film and stage actor. Borsche became a film star after
the Second World War.
"""
ACTOR_SET = [
    {"id": "engel-films", "question": "How many films did Alexander Engel appear in?", "answers": ["73"],
     "evidence": ["He appeared in 73 films between 1932 and 1968."], "doc": "film-actors", "answerable": True,
     "group": "film-actors"},
    {"id": "peru", "question": "What is the capital of Peru?", "answers": [], "evidence": [], "doc": None,
     "answerable": False},
]


def test_eval_corpus_indexes_a_folder_and_quotes_what_a_section_says_of_its_subject(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "film-actors.md").write_text(ACTORS, "utf-8")
    questions = tmp_path / "actors.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in ACTOR_SET), "utf-8")
    result = CliRunner().invoke(main, ["eval", str(questions), "--corpus", str(docs), "--modes", "hybrid",
                                       "--report", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == [
        f"indexing {docs} in a temporary folder", "2 questions (1 answerable, 0 follow-ups); index v000001, 2 passages"]
    report = json.loads((tmp_path / "out" / "report.json").read_text("utf-8"))
    assert report["config"]["corpus"] == str(docs)
    rows = {q["id"]: q for q in report["questions"]}
    # "He appeared in 73 films" says what is asked; the sentence naming Engel only says who he was.
    first = rows["engel-films"]["answer"]["footnotes"][0]["quote"]
    assert first.endswith("He appeared in 73 films between 1932 and 1968.")
    assert rows["engel-films"]["group"] == "film-actors"
    assert not rows["peru"]["answer"]["grounded"]
    no_sets = CliRunner().invoke(main, ["eval", "--corpus", str(docs)])
    assert no_sets.exit_code == 2
    assert no_sets.output.strip() == "error: --corpus needs the eval sets whose questions are about it"
