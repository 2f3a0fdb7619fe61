"""Tables in HTML and docx: one ``table`` unit, one line per row carrying its column headers, so that a row
quoted whole says what each value is; layout tables stay paragraphs. (Markdown: test_markdown.py.)"""

from __future__ import annotations

import io
from pathlib import Path

import docx

from footnote.ingest import parse
from footnote.ingest.docx_loader import load_docx
from footnote.ingest.html_loader import load_html
from footnote.ingest.models import Document

ROW = "Action: FCC OPS installation; Labor cost: $85; Parts cost: $6,120"
ROW2 = "Action: Wiring change; Labor cost: $170"


def test_html_table_rows_carry_headers(tmp_path: Path) -> None:
    html = (
        "<html><body><h1>Directive</h1><h2>Costs of Compliance</h2><p>We estimate these costs.</p>"
        "<table><caption>Table 1: Estimated costs</caption>"
        "<thead><tr><th>Action</th><th>Labor cost</th><th>Parts cost</th></tr></thead>"
        "<tbody><tr><td>FCC OPS <b>installation</b></td><td>$85</td><td>$6,120</td></tr>"
        "<tr><td>Wiring change</td><td>$170</td><td></td></tr></tbody></table>"
        "<p>After the table.</p></body></html>"
    )
    units = load_html(html).units
    (table,) = [u for u in units if u.kind == "table"]
    assert table.text == f"{ROW}\n{ROW2}"
    assert table.caption == "Table 1: Estimated costs"
    assert [u.text for u in units][-1] == "After the table."
    path = tmp_path / "costs.html"
    path.write_text(html, encoding="utf-8")
    doc = parse(path, tmp_path)
    assert ROW in doc.text and ROW2 in doc.text
    assert "Action Labor cost" not in doc.text  # the header row is not a row of its own


def test_html_header_cells_without_thead_and_row_headers() -> None:
    html = (
        "<table><tr><th>Action</th><th>Labor cost</th><th>Parts cost</th></tr>"
        "<tr><td>FCC OPS installation</td><td>$85</td><td>$6,120</td></tr></table>"
        "<table class='infobox'><tr><th colspan='2'>Mozilla</th></tr>"
        "<tr><th>Founded</th><td>February 28, 1998</td></tr><tr><th>Founder</th><td>Netscape</td></tr></table>"
    )
    tables = [u for u in load_html(html).units if u.kind == "table"]
    assert [(t.text, t.caption) for t in tables] == [
        (ROW, ""), ("Founded: February 28, 1998\nFounder: Netscape", "Mozilla"),
    ]


def test_html_layout_tables_stay_paragraphs() -> None:
    html = (
        "<table><tr><td><p>One column layout.</p></td></tr><tr><td><p>Second block.</p></td></tr></table>"
        "<table><tr><td>Outer</td><td><table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr>"
        "</table></td></tr></table>"
        "<table role='presentation'><tr><td>x</td><td>y</td></tr><tr><td>z</td><td>w</td></tr></table>"
    )
    units = load_html(html).units
    assert not [u for u in units if u.kind == "table"]
    assert [u.text for u in units][:2] == ["One column layout.", "Second block."]


def docx_bytes(caption_after: bool = False) -> bytes:
    document = docx.Document()
    document.add_heading("Costs of Compliance", 1)
    if not caption_after:
        document.add_paragraph("Table 1: Estimated costs")
    table = document.add_table(rows=3, cols=3)
    rows = [["Action", "Labor cost", "Parts cost"], ["FCC OPS installation", "$85", "$6,120"],
            ["Wiring change", "$170", ""]]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    if caption_after:
        document.add_paragraph("Table 1: Estimated costs")
    document.add_paragraph("After the table.")
    layout = document.add_table(rows=2, cols=1)
    layout.cell(0, 0).text = "A one-column box."
    layout.cell(1, 0).text = "Its second line."
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_docx_table_rows_carry_headers(tmp_path: Path) -> None:
    for caption_after in (False, True):
        units = load_docx(docx_bytes(caption_after), "costs.docx").units
        assert [(u.kind, u.text, u.caption) for u in units] == [
            ("heading", "Costs of Compliance", ""),
            ("table", f"{ROW}\n{ROW2}", "Table 1: Estimated costs"),
            ("para", "After the table.", ""),
            ("para", "A one-column box.", ""),
            ("para", "Its second line.", ""),
        ]
    path = tmp_path / "costs.docx"
    path.write_bytes(docx_bytes())
    doc = parse(path, tmp_path)
    assert ROW in doc.text and ROW2 in doc.text


def test_an_html_heading_keeps_its_own_element_id(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Mozilla</title></head><body><h1>Mozilla</h1><p>Intro text here.</p>"
        '<h2><span class="mw-headline" id="Early_years">Early years</span></h2><p>Netscape released code.</p>'
        '<h2 id="later">Later</h2><p>Firefox came out.</p><h2>Plain</h2><p>No id here.</p></body></html>',
        encoding="utf-8")
    doc = parse(page, tmp_path)
    anchors = {s.path[-1]: s.anchor for s in doc.sections}
    assert anchors["Early years"] == "Early_years"
    assert anchors["Later"] == "later"
    assert anchors["Plain"] is None
    assert Document.from_dict(doc.to_dict()).sections == doc.sections

    from footnote.service.where import anchor_of

    at = doc.text.index("Netscape released code.")
    assert anchor_of(("Early years",), doc, at) == "Early_years"
    assert anchor_of(("Plain",), doc, doc.text.index("No id here.")) == "plain"
