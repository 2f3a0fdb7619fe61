"""reStructuredText, pptx and EPUB, each on files the test writes (docutils source, python-pptx, ebooklib),
and 20 real PEPs (tests/fixtures/peps, public domain / CC0): title, the section path of a known sentence,
footnote URLs, and corrupt variants skipped with the parser's message."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from ebooklib import epub
from pptx import Presentation
from pptx.util import Inches

from footnote.ingest import Document, chunk, discover, parse
from footnote.ingest.models import Citation
from tests.ingest.test_corrupt import reason

METI = "https://www.meti.go.jp/policy/semiconductors.pdf"
RAPIDUS = "https://www.rapidus.inc/en/"
IBM = "https://newsroom.ibm.com/2022-12-12-IBM-and-Rapidus"
PEPS = Path(__file__).resolve().parents[1] / "fixtures" / "peps"


def passage_with(doc: Document, needle: str) -> tuple[tuple[str, ...], list[str]]:
    """(section path, cited markers) of the one passage holding ``needle``."""
    (passage,) = [p for p in chunk(doc) if needle in p.text]
    return passage.section, [c.marker for c in passage.citations]


def note(doc: Document, marker: str) -> Citation:
    found = doc.footnote(marker)
    assert found is not None, marker
    return found


def paths(doc: Document) -> list[tuple[str, ...]]:
    """The section paths in order, once each (a table may be a span of its own under the same path)."""
    return list(dict.fromkeys(s.path for s in doc.sections))


def check_offsets(doc: Document) -> None:
    for passage in chunk(doc):
        assert doc.text[passage.start:passage.end] == passage.text
    for offset, _ in doc.markers:
        assert 0 <= offset <= len(doc.text)
    assert "\ue000" not in doc.text and "\ue001" not in doc.text


# --- reStructuredText -------------------------------------------------------------------------------------

RST = f"""\
===========
Chip Policy
===========

Intro with a `METI report <{METI}>`_ and a bare {RAPIDUS} in it.

Subsidies
=========

The government funds fabs in Kumamoto. [#kuma]_ It also backs Rapidus [1]_ and
cites an older study [CIT2002]_.

.. [#kuma] METI, Semiconductor Strategy, <{METI}>.
.. [1] Rapidus news, `site <{RAPIDUS}>`_.
.. [CIT2002] IBM and Rapidus, {IBM}

Details
-------

- First point with :func:`open` and :ref:`a label <target>`.
- Second point.

Example::

    x = compute(1, 2)
    print(x)

.. include:: /etc/passwd

.. raw:: html

   <script>alert(1)</script>

.. versionadded:: 3.2

+--------+-----------+
| Fab    | Capacity  |
+========+===========+
| JASM   | 55k       |
+--------+-----------+

Outlook
=======

Demand keeps growing. See the Funding_ page.

.. _Funding: https://example.org/funding
"""


def test_rst_title_sections_footnotes_citations_and_links(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "chips.rst"
    path.write_text(RST, encoding="utf-8")
    doc = parse(path, tmp_path)
    assert capfd.readouterr() == ("", "")  # docutils reports nothing
    assert (doc.doc_id, doc.title, doc.format) == ("chips", "Chip Policy", "rst")
    assert paths(doc) == [("Chip Policy",), ("Subsidies",), ("Subsidies", "Details"), ("Outlook",)]
    assert f"Intro with a METI report and a bare {RAPIDUS} in it." in doc.text
    assert "The government funds fabs in Kumamoto. It also backs Rapidus and cites an older study." in doc.text
    assert note(doc, "1").urls == (RAPIDUS,) and note(doc, "1").text == f"Rapidus news, site. {RAPIDUS}"
    assert note(doc, "2").urls == (METI,)  # [1] is taken: the auto-numbered [#kuma] is 2
    assert note(doc, "CIT2002").urls == (IBM,)
    assert note(doc, "link-1").text == f"METI report {METI}"
    assert note(doc, "link-2").urls == ("https://example.org/funding",)
    assert passage_with(doc, "Kumamoto") == (("Subsidies",), ["2", "1", "CIT2002"])
    assert passage_with(doc, "Intro with") == (("Chip Policy",), ["link-1"])
    assert passage_with(doc, "Demand keeps growing") == (("Outlook",), ["link-2"])
    # Unknown roles keep their text; literal blocks are kept, one line each.
    assert "First point with open and a label.\nSecond point." in doc.text
    assert "Example:\n\nx = compute(1, 2)\nprint(x)" in doc.text
    assert passage_with(doc, "print(x)")[0] == ("Subsidies", "Details")
    assert "Fab: JASM; Capacity: 55k" in doc.text
    # Nothing read from disk, no raw HTML, no directive source.
    assert "root:" not in doc.text and "alert" not in doc.text and "versionadded" not in doc.text
    check_offsets(doc)


def test_rst_without_a_title_and_rest_extension(tmp_path: Path) -> None:
    path = tmp_path / "notes.rest"
    path.write_text("Plain paragraph one.\n\nFirst\n=====\n\nUnder first.\n\nSecond\n======\n\nUnder second.\n")
    doc = parse(path)
    assert (doc.title, doc.format) == ("Notes", "rst")
    assert passage_with(doc, "Under second.")[0] == ("Second",)


# --- PEPs -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def peps() -> dict[str, Document]:
    files, skipped = discover([PEPS])
    assert skipped == [] and len([f for f in files if f.suffix == ".rst"]) == 20
    return {path.stem: parse(path, PEPS) for path in files if path.suffix == ".rst"}


def test_twenty_peps_parse_with_titles_from_their_headers(peps: dict[str, Document]) -> None:
    assert len(peps) == 20
    for name, doc in peps.items():
        number = int(name.removeprefix("pep-"))
        assert doc.title.startswith(f"PEP {number} – "), doc.title
        assert doc.sections[0].path == (doc.title,) and len(doc.sections) > 3
        assert "Copyright" in {s.path[-1] for s in doc.sections}
        preamble = doc.text.split("\n\n")[1]  # the header's fields, not the header itself
        assert preamble.startswith(f"PEP: {number}; Author: ") and "Title:" not in preamble, preamble
        assert "Post-History:" not in doc.text and "Content-Type:" not in doc.text
        check_offsets(doc)
    assert peps["pep-0008"].title == "PEP 8 – Style Guide for Python Code"
    assert peps["pep-0615"].title == "PEP 615 – Support for the IANA Time Zone Database in the Standard Library"
    assert ("PEP: 8; Author: Guido van Rossum, Barry Warsaw, Alyssa Coghlan; Status: Active; Type: Process; "
            "Created: 05-Jul-2001") in peps["pep-0008"].text


def test_pep_sections_and_footnote_urls(peps: dict[str, Document]) -> None:
    pep8 = peps["pep-0008"]
    assert passage_with(pep8, "Use 4 spaces per indentation level.")[0] == ("Code Lay-out", "Indentation")
    section, markers = passage_with(pep8, "with some additions from Barry's style guide.")
    assert section == ("Introduction",) and "2" in markers
    assert note(pep8, "2").urls == ("http://barry.warsaw.us/software/STYLEGUIDE.txt",)
    # :pep:`text <7>`, which docutils refuses, keeps its text and links PEP 7.
    assert "describing style guidelines for the C code in the C implementation of Python." in pep8.text
    assert note(pep8, "link-1").urls == ("https://peps.python.org/pep-0007/",)
    pep553 = peps["pep-0553"]
    assert passage_with(pep553, "A pull request exists with the proposed implementation.") == (
        ("Implementation",), ["impl"])
    assert note(pep553, "impl").urls == ("https://github.com/python/cpython/pull/3355",)
    pep3117 = peps["pep-3117"]
    section, markers = passage_with(pep3117, "sparked many a discussion between Python heretics")
    assert section == ("Rationale",) and markers[:3] == ["EX1", "EX2", "EX3"]
    assert note(pep3117, "EX1").urls == ("https://mail.python.org/pipermail/python-list/2003-June/210588.html",)
    pep615 = peps["pep-0615"]
    assert note(pep615, "1").urls == ("https://blog.ganssle.io/articles/2018/02/a-curious-case-datetimes.html",)


# --- pptx -------------------------------------------------------------------------------------------------


def superscript(paragraph: Any, text: str) -> None:
    run = paragraph.add_run()
    run.text = text
    run.font._rPr.set("baseline", "30000")


def write_pptx(path: Path) -> None:
    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[0])
    slide.shapes.title.text = "Chip Supply 2025"
    slide.placeholders[1].text = "Quarterly review"

    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Market Size"
    body = slide.placeholders[1].text_frame
    body.text = "Demand grew in Kumamoto"
    superscript(body.paragraphs[0], "1")
    body.paragraphs[0].add_run().text = "."
    body.add_paragraph().text = "Rapidus opened a pilot line."
    source = slide.shapes.add_textbox(Inches(1), Inches(6), Inches(8), Inches(1)).text_frame.paragraphs[0]
    superscript(source, "1")
    source.add_run().text = " METI, Semiconductor Strategy, "
    link = source.add_run()
    link.text = "PDF"
    link.hyperlink.address = METI
    slide.notes_slide.notes_text_frame.text = "Mention the subsidy of 920 billion yen."

    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = "Fabs"
    table = slide.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for i, row in enumerate([("Fab", "Capacity"), ("JASM", "55k wafers"), ("Rapidus", "pilot")]):
        for j, value in enumerate(row):
            table.cell(i, j).text = value
    # This slide numbers its source from 1 again.
    claim = slide.shapes.add_textbox(Inches(1), Inches(4), Inches(8), Inches(1)).text_frame.paragraphs[0]
    claim.add_run().text = "Output doubled in 2024"
    superscript(claim, "1")
    claim.add_run().text = "."
    source = slide.shapes.add_textbox(Inches(1), Inches(6.5), Inches(8), Inches(1)).text_frame.paragraphs[0]
    superscript(source, "1")
    source.add_run().text = f" IBM and Rapidus, {IBM}"
    line = slide.shapes.add_textbox(Inches(1), Inches(5), Inches(8), Inches(1)).text_frame.paragraphs[0]
    line.add_run().text = "See the "
    link = line.add_run()
    link.text = "Rapidus site"
    link.hyperlink.address = RAPIDUS
    line.add_run().text = " for news."

    slide = deck.slides.add_slide(deck.slide_layouts[6])
    slide.shapes.add_textbox(Inches(1), Inches(1), Inches(8), Inches(1)).text_frame.text = "No title here."
    deck.save(str(path))


def test_pptx_slides_as_sections_with_notes_tables_and_footnotes(tmp_path: Path) -> None:
    path = tmp_path / "deck.pptx"
    write_pptx(path)
    doc = parse(path, tmp_path)
    assert (doc.title, doc.format) == ("Chip Supply 2025", "pptx")
    assert paths(doc) == [("Chip Supply 2025",), ("Market Size",), ("Market Size", "Notes"), ("Fabs",), ("Slide 4",)]
    assert doc.text.startswith("Chip Supply 2025\n\nQuarterly review\n\nMarket Size\n\n")
    assert "Demand grew in Kumamoto.\nRapidus opened a pilot line." in doc.text
    assert passage_with(doc, "Demand grew in Kumamoto.") == (("Market Size",), ["1"])
    assert note(doc, "1").urls == (METI,) and note(doc, "1").text == f"METI, Semiconductor Strategy, PDF {METI}"
    assert "METI" not in doc.text
    assert passage_with(doc, "920 billion yen")[0] == ("Market Size", "Notes")
    assert "Fab: JASM; Capacity: 55k wafers" in doc.text and "Fab: Rapidus; Capacity: pilot" in doc.text
    assert passage_with(doc, "See the Rapidus site for news.") == (("Fabs",), ["3.1", "link-1"])
    assert note(doc, "3.1").urls == (IBM,)  # slide 3's own note 1: marked <slide>.<marker>
    assert note(doc, "link-1").urls == (RAPIDUS,)
    assert passage_with(doc, "No title here.")[0] == ("Slide 4",)
    check_offsets(doc)


# --- EPUB -------------------------------------------------------------------------------------------------

XHTML = '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><body>{}</body></html>'


def write_epub(path: Path) -> None:
    book = epub.EpubBook()
    book.set_identifier("chips-of-japan")
    book.set_title("Chips of Japan")
    book.set_language("en")
    one = epub.EpubHtml(title="Kumamoto", file_name="text/ch1.xhtml", lang="en")
    one.content = XHTML.format(
        '<h1>Kumamoto</h1><p>TSMC built a fab in Kumamoto.<a epub:type="noteref" href="#n1">1</a> '
        'It opened in 2024.</p>'
        f'<aside epub:type="footnote" id="n1"><p>METI, <a href="{METI}">Semiconductor Strategy</a>.</p></aside>'
    )
    two = epub.EpubHtml(title="Hokkaido", file_name="text/ch2.xhtml", lang="en")
    two.content = XHTML.format(
        '<p>Rapidus builds a pilot line in Chitose.<sup><a epub:type="noteref" href="notes.xhtml#en1">1</a>'
        '</sup> Chitose has water.<sup><a href="notes.xhtml#n-water">2</a></sup></p>'
        '<h2>Funding</h2><p>The state pays most of it.<sup><a href="#fn1">2</a></sup></p>'
        f'<ol class="footnotes"><li id="fn1">IBM and Rapidus, {IBM}</li></ol>'
    )
    notes = epub.EpubHtml(title="Notes", file_name="text/notes.xhtml", lang="en")
    notes.content = XHTML.format(
        '<h1>Notes</h1><ol><li id="en1" epub:type="endnote"><a href="ch2.xhtml">1.</a> '
        f"Rapidus, news, {RAPIDUS}</li></ol>"
        '<p id="n-water">2. Water survey, <a href="https://example.org/water">report</a>.</p>'
    )
    for chapter in (one, two, notes):
        book.add_item(chapter)
    book.toc = (one, two, notes)
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", one, two, notes]
    epub.write_epub(str(path), book)


def test_epub_chapters_in_spine_order_with_footnotes_and_endnotes(tmp_path: Path) -> None:
    path = tmp_path / "book.epub"
    write_epub(path)
    doc = parse(path, tmp_path)
    assert (doc.title, doc.format) == ("Chips of Japan", "epub")
    # The second chapter has no h1: its table-of-contents label heads it.
    assert paths(doc) == [
        ("Chips of Japan",), ("Kumamoto",), ("Hokkaido",), ("Hokkaido", "Funding"), ("Notes",)
    ]
    assert "TSMC built a fab in Kumamoto. It opened in 2024." in doc.text
    assert passage_with(doc, "Kumamoto. It opened") == (("Kumamoto",), ["1"])
    assert passage_with(doc, "pilot line in Chitose") == (("Hokkaido",), ["2", "3"])
    assert passage_with(doc, "The state pays") == (("Hokkaido", "Funding"), ["4"])
    assert note(doc, "1").urls == (METI,) and note(doc, "1").text == f"METI, Semiconductor Strategy. {METI}"
    assert note(doc, "2").text == f"Rapidus, news, {RAPIDUS}"  # an endnote in another file
    # An EPUB 2 reference (a superscript link into another file, no epub:type) to a plain paragraph.
    assert note(doc, "3").text == "Water survey, report. https://example.org/water"
    assert note(doc, "4").urls == (IBM,)  # an HTML footnote list, renumbered after the EPUB notes
    assert "IBM" not in doc.text and "Rapidus, news" not in doc.text and "Water survey" not in doc.text
    check_offsets(doc)


# --- corrupt variants ------------------------------------------------------------------------------------


def rezip(raw: bytes, parts: dict[str, bytes | None]) -> bytes:
    """The zip ``raw`` with the named parts replaced (None: removed)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename not in parts:
                target.writestr(info, source.read(info.filename))
            elif parts[info.filename] is not None:
                target.writestr(info, parts[info.filename] or b"")
    return out.getvalue()


def test_corrupt_pptx_variants_are_skipped_with_the_parsers_message(tmp_path: Path) -> None:
    write_pptx(tmp_path / "good.pptx")
    good = (tmp_path / "good.pptx").read_bytes()
    empty_slide = b'<p:sld xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>'
    cases = {
        "truncated.pptx": (good[:300], "cannot parse as pptx (BadZipFile: File is not a zip file)"),
        "no-types.pptx": (rezip(good, {"[Content_Types].xml": None}),
                          "cannot parse as pptx (KeyError: \"no member '/[Content_Types].xml' in package\")"),
        "bad-xml.pptx": (rezip(good, {"ppt/presentation.xml": b"<<<"}),
                         "cannot parse as pptx (XMLSyntaxError: StartTag: invalid element name, line 1, column 2 "
                         "(<string>, line 1))"),
        "empty-slide.pptx": (rezip(good, {"ppt/slides/slide2.xml": empty_slide}),
                             "cannot parse as pptx (InvalidXmlError: required ``<p:cSld>`` child element not present)"),
    }
    for name, (raw, expected) in cases.items():
        assert reason(tmp_path, name, raw) == expected, name


def test_corrupt_epub_variants_are_skipped_with_the_parsers_message(tmp_path: Path) -> None:
    write_epub(tmp_path / "good.epub")
    good = (tmp_path / "good.epub").read_bytes()
    empty_spine = b'<package xmlns="http://www.idpf.org/2007/opf"><manifest/><spine/></package>'
    cases = {
        "truncated.epub": (good[:200], "not a valid EPUB (File is not a zip file)"),
        "no-container.epub": (rezip(good, {"META-INF/container.xml": None}),
                              "not a valid EPUB (no META-INF/container.xml)"),
        "no-rootfile.epub": (rezip(good, {"META-INF/container.xml": b"<container/>"}),
                             "not a valid EPUB (no package document (unnamed))"),
        "empty-spine.epub": (rezip(good, {"EPUB/content.opf": empty_spine}), "not a valid EPUB (empty spine)"),
        "bad-opf.epub": (rezip(good, {"EPUB/content.opf": b"<package"}),
                         "cannot parse as EPUB (XMLSyntaxError: Couldn't find end of Start Tag package line 1, "
                         "line 1, column 9 (<string>, line 1))"),
        "binary-chapter.epub": (rezip(good, {"EPUB/text/ch1.xhtml": b"\x00\x01\x02\xff" * 50}),
                                "cannot parse as EPUB (BinaryContent: control characters)"),
    }
    for name, (raw, expected) in cases.items():
        assert reason(tmp_path, name, raw) == expected, name


def test_corrupt_rst_variants_are_skipped_with_the_parsers_message(tmp_path: Path) -> None:
    nested = "".join(" " * depth + "- x\n\n" for depth in range(0, 3000, 2)).encode()
    assert reason(tmp_path, "nested.rst", nested) == (
        "cannot parse as reStructuredText (RecursionError: maximum recursion depth exceeded)")
    assert reason(tmp_path, "binary.rst", b"\x00\x01\x02" * 100) == "binary file"
    assert reason(tmp_path, "blank.rest", b"\n\n   \n") == "empty file"
    assert reason(tmp_path, "only-comment.rst", b".. a comment only\n") == "no text found"
