"""Every supported format, on a small file the test writes: structure, footnotes and markers."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
from fpdf import FPDF

from footnote.ingest import Document, chunk, parse

METI = "https://www.meti.go.jp/policy/semiconductors.pdf"
RAPIDUS = "https://www.rapidus.inc/en/"


def cited(doc: Document, needle: str) -> list[str]:
    """Markers of the passage holding ``needle``."""
    (passage,) = [p for p in chunk(doc) if needle in p.text]
    return [c.marker for c in passage.citations]


def check_offsets(doc: Document) -> None:
    for passage in chunk(doc):
        assert doc.text[passage.start:passage.end] == passage.text
    for offset, _ in doc.markers:
        assert 0 <= offset <= len(doc.text)


def test_markdown_footnotes_headings_and_links(tmp_path: Path) -> None:
    path = tmp_path / "chips.md"
    path.write_text(
        "# Chip Policy\n\n"
        "Intro with **bold** and a [link](https://example.org/page) in it.\n\n"
        "## Subsidies\n\n"
        "The government funds fabs in Kumamoto.[^1] It also backs\n"
        "Rapidus with *large* grants.[^note]\n\n"
        "### Details\n\n"
        "- First point.\n- Second point.\n\n"
        f"[^1]: METI, Semiconductor Strategy, <{METI}>.\n"
        f"[^note]: Rapidus, [news]({RAPIDUS}).\n"
        "    Accessed May 2025.\n",
        encoding="utf-8",
    )
    doc = parse(path, tmp_path)
    assert (doc.doc_id, doc.title, doc.format) == ("chips", "Chip Policy", "md")
    assert [s.path for s in doc.sections] == [("Chip Policy",), ("Subsidies",), ("Subsidies", "Details")]
    assert "Intro with bold and a link in it." in doc.text
    assert "The government funds fabs in Kumamoto. It also backs Rapidus with large grants." in doc.text
    assert "[^" not in doc.text and "**" not in doc.text
    assert doc.footnote("1").urls == (METI,)
    assert doc.footnote("note").urls == (RAPIDUS,)
    assert doc.footnote("note").text == f"Rapidus, news {RAPIDUS}. Accessed May 2025."
    assert cited(doc, "Kumamoto") == ["1", "note"]
    assert cited(doc, "Second point.") == []
    check_offsets(doc)


def test_html_sup_markers_and_footnote_section(tmp_path: Path) -> None:
    path = tmp_path / "chips.html"
    path.write_text(
        "<!doctype html><html><head><title>Chip Policy | Site</title><script>var x = 1;</script></head><body>"
        "<nav>Home | About</nav><h1>Chip Policy</h1><p>Intro text with <b>bold</b> words.</p>"
        "<h2>Subsidies</h2>"
        '<p>The government funds fabs in Kumamoto.<sup id="fnref1"><a href="#fn1">1</a></sup> '
        'It also backs Rapidus<sup><a href="#fn2">[2]</a></sup>. Output rose 10<sup>6</sup> times.</p>'
        "<ul><li>First item.</li><li>Second <em>item</em>.</li></ul>"
        "<h3>Details</h3><p>More.</p>"
        '<section class="footnotes"><ol>'
        f'<li id="fn1">METI, Semiconductor Strategy, <a href="{METI}">PDF</a>. '
        '<a href="#fnref1" class="footnote-backref">↩</a></li>'
        f'<li id="fn2">Rapidus news, {RAPIDUS}.</li>'
        "</ol></section></body></html>",
        encoding="utf-8",
    )
    doc = parse(path, tmp_path)
    assert (doc.title, doc.format) == ("Chip Policy", "html")
    assert [s.path for s in doc.sections] == [("Chip Policy",), ("Subsidies",), ("Subsidies", "Details")]
    assert "The government funds fabs in Kumamoto. It also backs Rapidus. Output rose 10⁶ times." in doc.text
    assert "First item.\nSecond item." in doc.text
    assert "Home" not in doc.text and "var x" not in doc.text and "METI" not in doc.text
    assert doc.footnote("1").urls == (METI,) and doc.footnote("1").text == f"METI, Semiconductor Strategy, PDF. {METI}"
    assert doc.footnote("2").urls == (RAPIDUS,)
    assert cited(doc, "Kumamoto") == ["1", "2"]
    check_offsets(doc)


def test_html_without_h1_uses_title_tag(tmp_path: Path) -> None:
    path = tmp_path / "page.htm"
    path.write_text("<html><head><title>Plain Page</title></head><body><p>Only a paragraph.</p></body></html>")
    doc = parse(path)
    assert doc.title == "Plain Page"
    assert doc.text == "Only a paragraph."
    assert [p.section for p in chunk(doc)] == [("Plain Page",)]


def write_pdf(path: Path) -> None:
    pdf = FPDF()
    pdf.set_title("Chip Policy Report")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(0, 12, "Chip Policy Report", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 10, "Subsidies", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.write(6, "The government funds new fabs in Kumamoto to secure supply")
    pdf.char_vpos = "SUP"
    pdf.write(6, "1")
    pdf.char_vpos = "LINE"
    pdf.write(6, ". This sentence is long enough to wrap onto a second line of the paragraph, which the loader "
                 "joins again. It also backs Rapidus.")
    pdf.char_vpos = "SUP"
    pdf.write(6, "2")
    pdf.char_vpos = "LINE"
    pdf.ln(12)
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 10, "Outlook", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(0, 6, "Demand for chips keeps growing. Japan plans more investment.")
    pdf.set_y(-40)
    pdf.set_font("Helvetica", "", 8)
    for number, source in (("1", f"METI, Semiconductor Strategy, 2023, {METI}."), ("2", f"Rapidus news, {RAPIDUS}.")):
        pdf.char_vpos = "SUP"
        pdf.write(4, number)
        pdf.char_vpos = "LINE"
        pdf.write(4, f" {source}")
        pdf.ln(5)
    pdf.output(str(path))


def test_pdf_headings_paragraphs_and_superscript_footnotes(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    write_pdf(path)
    doc = parse(path, tmp_path)
    assert (doc.title, doc.format) == ("Chip Policy Report", "pdf")
    assert [s.path for s in doc.sections] == [("Chip Policy Report",), ("Subsidies",), ("Outlook",)]
    assert (
        "The government funds new fabs in Kumamoto to secure supply. This sentence is long enough to wrap onto "
        "a second line of the paragraph, which the loader joins again. It also backs Rapidus."
    ) in doc.text
    assert [(c.marker, c.urls) for c in doc.footnotes] == [("1", (METI,)), ("2", (RAPIDUS,))]
    where = {m: o for o, m in doc.markers}
    assert doc.text[: where["1"]].endswith("to secure supply")
    assert cited(doc, "Kumamoto") == ["1", "2"]
    assert cited(doc, "Demand for chips") == []
    check_offsets(doc)


FOOTNOTES_XML = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:footnotes xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"
 xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>
<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r></w:p></w:footnote>
<w:footnote w:id="7"><w:p><w:r><w:footnoteRef/></w:r><w:r><w:t xml:space="preserve"> METI, Strategy, </w:t></w:r>
<w:hyperlink r:id="rIdMeti"><w:r><w:t>online</w:t></w:r></w:hyperlink></w:p></w:footnote>
<w:footnote w:id="9"><w:p><w:r><w:footnoteRef/></w:r>
<w:r><w:t xml:space="preserve"> Rapidus news, {RAPIDUS}.</w:t></w:r></w:p></w:footnote>
</w:footnotes>"""
FOOTNOTES_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rIdMeti"
 Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="{METI}"
 TargetMode="External"/></Relationships>"""


def write_docx(path: Path, footnotes: bool) -> None:
    """python-docx cannot write footnotes: placeholders runs become w:footnoteReference afterwards."""
    document = docx.Document()
    document.add_heading("Chip Policy Memo", 0)
    document.add_heading("Subsidies", 1)
    paragraph = document.add_paragraph("The government funds fabs in Kumamoto.")
    paragraph.add_run("FNREF9")  # referenced first: Word shows it as 1
    paragraph.add_run(" It also backs ")
    paragraph.add_run("Rapidus").bold = True
    paragraph.add_run(".")
    paragraph.add_run("FNREF7")
    document.add_heading("Details", 2)
    document.add_paragraph("First point.", style="List Bullet")
    document.add_paragraph("Second point.", style="List Bullet")
    document.add_heading("Outlook", 1)
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Demand grows."
    table.cell(0, 1).text = "Supply follows."
    buffer = io.BytesIO()
    document.save(buffer)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                xml = data.decode()
                for ident in ("7", "9"):
                    reference = f'<w:footnoteReference w:id="{ident}"/>' if footnotes else ""
                    xml = xml.replace(f"<w:t>FNREF{ident}</w:t>", reference)
                data = xml.encode()
            target.writestr(item, data)
        if footnotes:
            target.writestr("word/footnotes.xml", FOOTNOTES_XML)
            target.writestr("word/_rels/footnotes.xml.rels", FOOTNOTES_RELS)


def test_docx_heading_styles_become_sections(tmp_path: Path) -> None:
    path = tmp_path / "memo.docx"
    write_docx(path, footnotes=False)
    doc = parse(path, tmp_path)
    assert (doc.title, doc.format) == ("Chip Policy Memo", "docx")
    assert [s.path for s in doc.sections] == [
        ("Chip Policy Memo",), ("Subsidies",), ("Subsidies", "Details"), ("Outlook",)
    ]
    assert "The government funds fabs in Kumamoto. It also backs Rapidus." in doc.text
    assert "First point.\nSecond point." in doc.text
    assert "Demand grows." in doc.text and "Supply follows." in doc.text
    assert doc.footnotes == ()


def test_docx_footnotes_part(tmp_path: Path) -> None:
    path = tmp_path / "memo.docx"
    write_docx(path, footnotes=True)
    doc = parse(path, tmp_path)
    assert "The government funds fabs in Kumamoto. It also backs Rapidus." in doc.text
    # Numbered in reading order, as Word shows them.
    assert [(c.marker, c.text, c.urls) for c in doc.footnotes] == [
        ("1", f"Rapidus news, {RAPIDUS}.", (RAPIDUS,)),
        ("2", f"METI, Strategy, online {METI}", (METI,)),
    ]
    where = {m: o for o, m in doc.markers}
    assert doc.text[: where["1"]].endswith("fabs in Kumamoto.")
    assert doc.text[: where["2"]].endswith("backs Rapidus.")
    assert cited(doc, "Kumamoto") == ["1", "2"]
    check_offsets(doc)


def test_plain_text_footnote_markers_in_brackets(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text(
        "Plain Notes\n\nBody one cites a source.[^1] Body two does not.\n\n"
        f"[^1]: A source, {METI}\n",
        encoding="utf-8",
    )
    doc = parse(path)
    assert doc.text == "Plain Notes\n\nBody one cites a source. Body two does not."
    assert doc.markers == ((len("Plain Notes\n\nBody one cites a source."), "1"),)
    assert doc.footnote("1").urls == (METI,)


class _PagedPDF(FPDF):
    def header(self) -> None:
        self.set_font("Helvetica", "", 9)
        self.cell(0, 8, "CET Index 2025 - Japan", new_x="LMARGIN", new_y="NEXT")

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", "", 9)
        self.cell(0, 8, f"Page {self.page_no()} of 2")


def test_pdf_sentence_across_page_and_footnote_block(tmp_path: Path) -> None:
    pdf = _PagedPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, "Biotechnologies", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.write(6, "Such funds are largely absent in Japan.")
    pdf.char_vpos = "SUP"
    pdf.write(6, "9")
    pdf.char_vpos = "LINE"
    pdf.write(6, " These efforts also include facilitating the")
    pdf.set_y(-40)
    pdf.set_font("Helvetica", "", 8)
    pdf.char_vpos = "SUP"
    pdf.write(4, "9")
    pdf.char_vpos = "LINE"
    pdf.write(4, " Nagayoshi, Ryo. Challenges in Drug Discovery. https://www.kantei.go.jp/x.pdf.")
    pdf.add_page()
    pdf.set_font("Helvetica", "", 11)
    pdf.write(6, "matching of managerial talent and leadership. The end.")
    path = tmp_path / "paged.pdf"
    pdf.output(str(path))
    doc = parse(path)
    assert doc.text == (
        "Biotechnologies\n\nSuch funds are largely absent in Japan. These efforts also include facilitating "
        "the matching of managerial talent and leadership. The end."
    )
    assert [(c.marker, c.urls) for c in doc.footnotes] == [("9", ("https://www.kantei.go.jp/x.pdf",))]
    assert doc.markers == ((len("Biotechnologies\n\nSuch funds are largely absent in Japan."), "9"),)
    (passage,) = chunk(doc)
    assert "These efforts also include facilitating the matching of managerial talent and leadership." in [
        doc.text[s:e] for s, e in passage.sentences
    ]
