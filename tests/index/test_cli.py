"""`footnote ingest` and `footnote search` as a user runs them: messages, exit codes, JSON."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from footnote.cli import main

GOOD = """Tsukuba Notes

The Tsukuba photonics consortium tested a lidar chip in 2024.[^1] It plans a pilot line next year.

[^1]: Tsukuba Photonics, "Lidar chip results," https://example.org/lidar.
"""


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_ingest_reports_skipped_files_and_reruns_as_up_to_date(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "notes.md").write_text(GOOD)
    (folder / "empty.txt").write_text("")
    (folder / "blob.txt").write_bytes(bytes(range(256)) * 4)
    (folder / "sheet.xlsx").write_bytes(b"PK\x03\x04")
    index_dir = tmp_path / "idx"
    result = _run("ingest", str(folder), "--index", str(index_dir))
    assert result.exit_code == 0, result.output
    assert f"skipped {folder / 'sheet.xlsx'}: unsupported format (.xlsx)" in result.stderr
    assert f"skipped {folder / 'empty.txt'}: empty file" in result.stderr
    assert f"skipped {folder / 'blob.txt'}: binary file" in result.stderr
    passages = json.loads((index_dir / "manifest.json").read_text())["counts"]["passages"]
    assert result.stdout == (f"ingested 1 document (1 new, 0 changed, 0 removed, 0 unchanged), {passages} passage"
                             f"{'s' if passages != 1 else ''}; 3 files skipped; index v000001 at {index_dir}\n"
                             "fusion: convex dense 0.50 + bm25 0.50 (min-max); not fitted: fewer than 10 "
                             "pseudo-queries: too few passages with two sentences or more\n")

    again = _run("ingest", str(folder), "--index", str(index_dir))
    assert again.exit_code == 0 and again.stdout.startswith("index is up to date: 1 document, ")

    found = _run("search", "which lidar results are cited?", "--index", str(index_dir), "--json", "-k", "1")
    hit = json.loads(found.stdout)[0]
    assert hit["doc_id"] == "notes" and hit["citations"][0]["urls"] == ["https://example.org/lidar"]


def test_quiet_ingest_prints_nothing_even_with_many_files(tmp_path: Path) -> None:
    """Past 20 files the parsing progress bar used to show under --quiet; quiet means no output at all."""
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(25):
        (folder / f"note-{n:02d}.md").write_text(f"Note {n}\n\nThe pilot line number {n} opened in 2024.\n")
    (folder / "empty.txt").write_text("")
    index_dir = tmp_path / "idx"
    for _ in range(2):  # a first build, then an "up to date" run
        result = _run("ingest", str(folder), "--index", str(index_dir), "-q")
        assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert json.loads((index_dir / "manifest.json").read_text())["counts"]["documents"] == 25
    failed = _run("ingest", str(tmp_path / "nope"), "--index", str(index_dir), "-q")
    assert (failed.exit_code, failed.stderr) == (2, f"error: {tmp_path / 'nope'} does not exist\n")


def test_ingest_with_nothing_readable_exits_1(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "empty.md").write_text("")
    result = _run("ingest", str(folder), "--index", str(tmp_path / "idx"))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == f"error: nothing to index in {folder}: all 1 file skipped"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]  # no index, no empty versions folder


def test_ingest_missing_path_exits_2(tmp_path: Path) -> None:
    result = _run("ingest", str(tmp_path / "missing"), "--index", str(tmp_path / "idx"))
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path / 'missing'} does not exist\n"


def test_search_json(corpus_index: Path) -> None:
    result = _run("search", "Rapidus partnership with IBM", "--index", str(corpus_index), "--json", "-k", "3")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert len(hits) == 3 and hits[0]["id"] == "cet-index-2025-japan-report-0010"
    assert {"id", "doc_id", "title", "section", "text", "start", "end", "citations", "score"} <= set(hits[0])
    assert "Rapidus is partnering with IBM" in hits[0]["text"]


def test_search_text_output_in_bm25_mode(corpus_index: Path) -> None:
    result = _run("search", "KIOXIA NAND", "--index", str(corpus_index), "--mode", "bm25", "-k", "2")
    assert result.exit_code == 0
    first = result.stdout.splitlines()[0]
    assert first.startswith(" 1. [") and "cet-index-2025-japan-report" in first


def test_search_without_index_exits_1(tmp_path: Path) -> None:
    result = _run("search", "anything", "--index", str(tmp_path / "none"))
    assert result.exit_code == 1
    assert result.stderr == f"error: no index at {tmp_path / 'none'}: run `footnote ingest` first\n"
