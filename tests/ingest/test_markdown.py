"""Markdown read by its grammar (markdown-it-py): code kept verbatim and never a heading, emphasis removed
only where it is emphasis, links recorded like citations, GFM tables one row per line; in linear time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from footnote.ingest import Document, chunk, parse
from footnote.ingest.markdown_loader import CODE_KIND, load_markdown
from footnote.ingest.structure import build
from footnote.ingest.units import mark

GUIDE = Path(__file__).parents[1] / "fixtures" / "real" / "ripgrep-GUIDE.md"


@pytest.fixture(scope="module")
def guide() -> Document:
    return parse(GUIDE)


def passage_with(doc: Document, needle: str) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """(section path, cited URLs, text) of the one passage holding ``needle``."""
    (passage,) = [p for p in chunk(doc) if needle in p.text]
    assert doc.text[passage.start:passage.end] == passage.text
    return passage.section, tuple(u for c in passage.citations for u in c.urls), passage.text


def test_guide_code_comments_are_not_headings(guide: Document) -> None:
    headings = {s.path[-1] for s in guide.sections}
    assert "The -s flag ensures that the file is non-empty." not in headings
    assert not any(h.startswith(("#", "$", "Add my", "Set the colors", "Because who cares")) for h in headings)
    assert [s.path for s in guide.sections][-4:] == [
        ("Preprocessor",), ("Preprocessor", "A more robust preprocessor"),
        ("Preprocessor", "Reducing preprocessor overhead"), ("Common options",),
    ]
    assert guide.title == "User Guide"


def test_guide_code_kept_byte_for_byte(guide: Document) -> None:
    lines = guide.text.split("\n")
    # The configuration file's own line, in a fenced block, and the same glob in a code span.
    assert "web:*.{html,css,js}*" in lines
    assert "  # The -s flag ensures that the file is non-empty." in lines  # indentation kept
    assert "or add --type-add=web:*.{html,css,js} to your ripgrep configuration file." in guide.text
    assert "$ rg --type-add 'web:*.{html,css,js}' -tweb title" in lines
    # A code line is never glued to the paragraph after it ("or, more succinctly,").
    assert "$ rg 'fn run' --type rust" in lines and "or, more succinctly," in lines


def test_guide_heading_path_of_a_known_paragraph(guide: Document) -> None:
    section, _, _ = passage_with(guide, "it requires running a preprocessor for every single file")
    assert section == ("Preprocessor", "Reducing preprocessor overhead")
    section, _, _ = passage_with(guide, "only running pdftotext when we think the input is a non-empty PDF")
    assert section == ("Preprocessor", "A more robust preprocessor")


def test_guide_link_url_recorded_words_unchanged(guide: Document) -> None:
    section, urls, text = passage_with(guide, "specify patterns via regular expressions.")
    assert section == ("Basics",)
    assert "https://en.wikipedia.org/wiki/Regular_expression" in urls
    assert "via regular expressions. As an example" in text and "wikipedia" not in text
    # A link inside the document (the table of contents) is text only.
    assert not any(c.urls and "#basics" in c.urls[0] for c in guide.footnotes)


def test_markdown_grammar(tmp_path: Path) -> None:
    path = tmp_path / "grammar.md"
    path.write_text(
        "---\ntitle: hidden\n---\n"
        "Guide\n=====\n\n"
        "<!-- a comment\nacross lines -->\n\n"
        "Use `rg '*.{c,h}'` to match *both* kinds, or **all** of them: 2 * 3 * 4.[^n]\n\n"
        "Setext two\n----------\n\n"
        "```sh\n# not a heading\n$ rg  -g '*.rs'  foo\n```\n\n"
        "    # indented code\n\n"
        "See [the docs](https://example.org/docs \"Docs\"), [again](https://example.org/docs), "
        "[a section](#guide) and <https://auto.example.org>.\n\n"
        "[^n]: A note citing [a source](https://source.example.org).\n",
        encoding="utf-8",
    )
    loaded = load_markdown(path.read_text())
    code = [u.text for u in loaded.units if u.kind == CODE_KIND]
    assert code == ["# not a heading", "$ rg  -g '*.rs'  foo", "# indented code"]
    doc = parse(path, tmp_path)
    assert doc.title == "Guide"
    assert [s.path for s in doc.sections] == [("Guide",), ("Setext two",)]
    assert "Use rg '*.{c,h}' to match both kinds, or all of them: 2 * 3 * 4." in doc.text
    assert "hidden" not in doc.text and "comment" not in doc.text
    assert "See the docs, again, a section and https://auto.example.org." in doc.text
    assert doc.footnote("n") is not None
    assert doc.footnote("n").text == "A note citing a source https://source.example.org."  # type: ignore[union-attr]
    links = [c for c in doc.footnotes if c.marker.startswith("link")]
    assert [c.urls for c in links] == [("https://example.org/docs",), ("https://auto.example.org",)]
    assert links[0].text == "the docs https://example.org/docs"
    (passage,) = [p for p in chunk(doc) if "See the docs" in p.text]
    assert [c.marker for c in passage.citations] == ["link1", "link2"]


def test_markdown_table_rows_carry_headers(tmp_path: Path) -> None:
    text = (
        "## Costs\n\n"
        "| Action | Labor cost | Parts cost |\n"
        "|:-------|-----------:|-----------:|\n"
        "| FCC OPS installation | $85 | $6,120 |\n"
        "| Wiring `*` check | $170 | |\n\n"
        "After the table.\n"
    )
    tables = [u for u in load_markdown(text).units if u.kind == "table"]
    assert [t.text for t in tables] == [
        "Action: FCC OPS installation; Labor cost: $85; Parts cost: $6,120\nAction: Wiring * check; Labor cost: $170"
    ]
    path = tmp_path / "costs.md"
    path.write_text(text, encoding="utf-8")
    doc = parse(path, tmp_path)
    assert "Action: FCC OPS installation; Labor cost: $85; Parts cost: $6,120" in doc.text
    assert "| Action |" not in doc.text


def test_link_marker_does_not_take_a_footnote_label() -> None:
    loaded = load_markdown("Text.[^link1] A [site](https://a.example).\n\n[^link1]: The note.\n")
    assert loaded.notes == {"link1": "The note.", "link2": "site <https://a.example>"}
    assert loaded.units[0].text == f"Text.{mark('link1')} A site{mark('link2')}."


# Inputs that make a backtracking parser (or a pattern over the whole text) quadratic or worse.
ADVERSARIAL = {
    "unclosed comments": "<!--" * 50_000,
    "heading with spaces": "# x" + " " * 48_000 + "y",
    "open brackets": "[" * 100_000,
    "close brackets": "]" * 100_000,
    "images": "![" * 25_000,
    "link openers": "[a](" * 25_000,
    "nested links": "[a" * 25_000 + "](u)",
    "emphasis": "*a" * 50_000,
    "underscores": "_a **" * 20_000,
    "backticks": "`a" * 50_000,
    "angle brackets": "<a" * 50_000,
    "entities": "&#" * 50_000,
    "block quotes": "> " * 50_000,
    "list markers": "- " * 50_000,
    "table rows": "a|b\n-|-\n" + "|\n" * 25_000,
    "wide table": "|" + "a|" * 20_000 + "\n|" + "-|" * 20_000 + "\n|" + "x|" * 20_000 + "\n",
    "unclosed fence": "```\n" + "# x\n" * 25_000,
}
# markdown-it-py is linear but slow on some of these (about 30 µs a character for "!["): 0.01-4 s each on a
# busy 2-core machine. Quadratic on 50,000-100,000 characters would take minutes.
BUDGET_S = 20.0


@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_markdown_is_linear_on_adversarial_input(text: str) -> None:
    start = time.thread_time()
    build(load_markdown(text), "x")
    took = time.thread_time() - start
    assert took < BUDGET_S, f"took {took:.1f} s on {text[:20]!r}... ({len(text)} characters)"


def test_code_with_markup_characters_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "globs.md"
    path.write_text("Search `**/*.rs` with `rg '[^a-z]+'`.\n", encoding="utf-8")
    assert "Search **/*.rs with rg '[^a-z]+'." in parse(path, tmp_path).text
