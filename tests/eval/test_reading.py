"""The reading corpus (eval/sets/reading): the committed questions pass the validator, and the validator
catches what it promises to catch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from footnote.eval import reading


def test_the_committed_corpus_is_valid() -> None:
    assert reading.check() == []


def test_the_corpus_is_large_enough_and_split_by_document() -> None:
    docs = reading.documents()
    questions = reading.questions()
    assert len(docs) >= 400 and len(questions) >= 5000
    assert {d["genre"] for d in docs} == {"encyclopedic", "specification", "handbook", "guide", "manual", "book"}
    splits = {d["doc_id"]: d["split"] for d in docs}
    assert {splits[q["doc"]] for q in questions} == {"train", "dev", "test"}
    # A document's side is its id's hash: the seeded split, whatever order the documents come in.
    assert all(d["split"] == reading.split_of(d["doc_id"]) for d in docs)


def test_no_unseen_set_is_in_the_corpus() -> None:
    wiki = Path(reading.__file__).parent / "sets" / "wiki-topics"
    sources = {line.removeprefix("Source: ").strip() for path in wiki.glob("*.md")
               for line in path.read_text("utf-8").splitlines() if line.startswith("Source: ")}
    texts = "\n".join(p.read_text("utf-8") for p in (reading.ROOT / "docs" / "dbpedia").glob("*.md"))
    assert sources and not any(f"Source: {url}\n" in texts for url in sources)
    assert "Normans" not in texts


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A corpus of one committed document and questions written by the test."""
    row = next(d for d in reading.documents() if d["genre"] == "encyclopedic")
    root = tmp_path / "reading"
    (root / "docs" / "dbpedia").mkdir(parents=True)
    shutil.copy(reading.ROOT / row["file"], root / row["file"])
    (root / "documents.jsonl").write_text(json.dumps(row) + "\n", "utf-8")
    (root / "questions").mkdir()
    return root


def _write(root: Path, rows: list[dict[str, object]]) -> None:
    (root / "questions" / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")


def test_the_validator_names_each_problem(tiny: Path) -> None:
    doc = reading.documents(tiny)[0]["doc_id"]
    text = reading.clean_texts(tiny)[doc]
    sentence = text.split("\n\n")[2].split(". ")[0] + "."
    good = {"id": "a", "doc": doc, "question": "What is it?", "answerable": True, "kind": "factual",
            "answers": [sentence.split()[0]], "evidence": [sentence]}
    _write(tiny, [
        good,
        {**good, "id": "b", "question": "And then?", "evidence": [sentence + " Not in the text."]},
        {**good, "id": "c"},  # the same question again
        {"id": "d", "doc": doc, "question": "Who else?", "answerable": False, "kind": "unanswerable",
         "trap": "guess", "plausible": sentence, "answers": [], "evidence": []},
        {"id": "e", "doc": "nowhere", "question": "Where?", "answerable": True, "kind": "factual",
         "answers": ["x"], "evidence": ["x"]},
        {**good, "id": "f", "question": "What is it, in its words?", "wording": "verbatim"},
    ])
    problems = reading.check(tiny)
    assert f"t.jsonl:2 b: evidence not verbatim in {doc}: " in problems[0]
    assert problems[1] == "t.jsonl:3 c: the same question as a"
    assert problems[2].startswith("t.jsonl:4 d: trap 'guess' is not one of")
    assert problems[3] == "t.jsonl:5 e: unknown document 'nowhere'"
    assert problems[4] == "t.jsonl:6 f: wording 'verbatim' is not 'direct'"
    # The shares: 1 unanswerable of 6 questions, no follow-up.
    assert "unanswerable share 0.167 < 0.35" in problems
    assert "follow-up share 0.000 < 0.1" in problems


def test_a_wrapped_line_still_counts_as_verbatim() -> None:
    assert reading.locate("one two\nthree four", "two three") == reading.Span(4, 13)
    assert reading.locate("one two three", "two four") is None


def test_every_document_is_the_file_its_row_names() -> None:
    import hashlib

    for row in reading.documents():
        data = (reading.ROOT / row["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"], row["file"]
        assert row["licence"] and row["source"], row["doc_id"]


def test_a_new_round_of_documents_keeps_every_one_chosen_before(tmp_path: Path) -> None:
    paths = []
    for i in range(100):  # files 0 to 89 of 10 bytes, 90 to 99 of 50
        paths.append(tmp_path / f"{i:03}.txt")
        paths[-1].write_text("x" * (10 if i < 90 else 50))
    first = reading._pick_rounds(paths, ((9, 10),))
    assert [p.stem for p in first] == ["000", "010", "020", "030", "040", "050", "060", "070", "080"]
    both = reading._pick_rounds(paths, ((9, 10), (5, 50)))
    assert set(first) < set(both) and both == sorted(both)
    assert sorted(p.stem for p in set(both) - set(first)) == ["001", "021", "041", "061", "081"]
    # A round takes only files up to its size, and never one twice.
    assert reading._pick_rounds(paths, ((200, 10),)) == paths[:90]
    assert reading._pick_rounds(paths, ((90, 10), (20, 50))) == paths


def test_books_are_english_pages_of_prose_and_not_the_old_editions_stubs(tmp_path: Path) -> None:
    prose = " ".join(f"Each borrow of value {i} ends before the owner moves." for i in range(120))
    page = (f"<html><head><title>Ownership</title></head><body><main><h1>Ownership</h1><p>{prose}</p></main>"
            "</body></html>")
    for relative in ("book/ch04-01.html", "book/es/ch04-01.html", "book/zh-CN/ch04-01.html",
                     "book/first-edition/ch04-01.html", "book/print.html", "cargo/guide/index.html",
                     "reference/short.html"):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page.replace(prose, "Too short.") if "short" in relative else page, "utf-8")
    books = reading._books(tmp_path)
    assert [name for name, _, _ in books] == ["book--ch04-01.html", "cargo--guide--index.html"]
    assert books[0][1] == page and books[1][2].endswith("documentation (rust-docs), html/cargo/guide/index.html")


def _metadata(site: Path, name: str, licence: str, body: str, kind: str = "text/markdown") -> None:
    folder = site / f"{name}-1.0.dist-info"
    folder.mkdir(parents=True)
    (folder / "METADATA").write_text(
        f"Metadata-Version: 2.4\nName: {name}\nVersion: 1.0\nLicense-Expression: {licence}\n"
        f"Description-Content-Type: {kind}\n\n{body}", "utf-8")


def test_guides_are_permissive_long_enough_and_not_a_forks_copy(tmp_path: Path) -> None:
    guide = " ".join(f"The option number {i} sets the limit of part {i} of the tool." for i in range(400))
    _metadata(tmp_path, "tool", "MIT", guide)
    _metadata(tmp_path, "tool2", "MIT", guide[:-200])  # a fork's copy, a little shorter: the longer one is kept
    _metadata(tmp_path, "lib", "BSD-3-Clause", guide.replace("option", "setting").replace("limit", "size"),
              "text/x-rst")
    _metadata(tmp_path, "strong", "GPL-3.0-or-later", guide.replace("option", "flag"))
    _metadata(tmp_path, "short", "MIT", "A tool. It does one thing.")
    guides = reading._package_guides(tmp_path)
    assert [(name, licence) for name, _, _, licence in guides] == [
        ("lib.rst", "BSD-3-Clause (the package's metadata)"), ("tool.md", "MIT (the package's metadata)")]
    assert guides[1][2] == "PyPI package tool 1.0, the long description in its METADATA"


def test_a_manual_page_becomes_markdown_with_its_options_as_headings() -> None:
    rendered = "\n".join([
        "TOOL(1)                 General Commands                TOOL(1)",
        "",
        "NAME",
        "       tool - count *things* in [files]",
        "",
        "OPTIONS",
        "   Output",
        "       -w, --words",
        "              Count words.  The default is lines.",
        "",
        "       1. a numbered note",
        "",
        "GNU 1.0                          2024                       TOOL(1)",
    ])
    assert reading.man_markdown(rendered) == (
        "## NAME\n\ntool - count \\*things\\* in \\[files\\]\n\n## OPTIONS\n\n### Output\n\n"
        "#### \\-w, --words\n\nCount words.  The default is lines.\n\n1\\. a numbered note\n")
