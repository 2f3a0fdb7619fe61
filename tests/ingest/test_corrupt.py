"""Corrupt files of every format are refused with a reason, never with a traceback.

Each variant is written by the test. The ones that used to escape as a parser's own exception (python-docx's
``AttributeError``, lxml's ``XMLSyntaxError``, MuPDF's ``FzErrorFormat``, a ``RecursionError`` in the HTML
walker) must now be ``UnreadableDocument`` naming the parser's message.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from footnote.errors import UnreadableDocument
from footnote.ingest import parse

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CONTENT_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="word/document.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/></Relationships>'
)
BODY = (f'<?xml version="1.0"?><w:document xmlns:w="{_W}">'
        "<w:body><w:p><w:r><w:t>Hello.</w:t></w:r></w:p></w:body></w:document>")


def docx(parts: dict[str, str] | None = None) -> bytes:
    """A docx package: the three parts of a valid one, with any of them replaced or added by name."""
    files = {"[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": RELS, "word/document.xml": BODY, **(parts or {})}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as package:
        for name, text in files.items():
            package.writestr(name, text)
    return buf.getvalue()


def pdf(*objects: str) -> bytes:
    """A PDF with a correct xref table around the given objects (1 0 obj is the catalog)."""
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    return out + f"trailer\n<</Size {len(objects) + 1}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode()


def reason(tmp_path: Path, name: str, raw: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(raw)
    with pytest.raises(UnreadableDocument) as caught:
        parse(path)
    assert caught.value.path == name
    return caught.value.reason


def test_a_valid_docx_of_the_same_parts_parses(tmp_path: Path) -> None:
    (tmp_path / "ok.docx").write_bytes(docx())
    assert parse(tmp_path / "ok.docx").text == "Hello."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (docx({"[Content_Types].xml": "<Types/>"}),
         "cannot parse as docx (AttributeError: 'lxml.etree._Element' object has no attribute 'overrides')"),
        (docx({"word/document.xml": '<?xml version="1.0"?><html><body/></html>'}),
         "cannot parse as docx (AttributeError: 'lxml.etree._Element' object has no attribute 'body')"),
        (docx({"word/document.xml": f'<?xml version="1.0"?><w:document xmlns:w="{_W}"/>'}),
         "cannot parse as docx (AttributeError: 'NoneType' object has no attribute 'iterchildren')"),
        (docx({"word/footnotes.xml": "<<<"}),
         "cannot parse as docx (XMLSyntaxError: StartTag: invalid element name, line 1, column 2 (<string>, line 1))"),
        (docx({"word/document.xml": "<w:document"}), "not a valid docx"),
        (docx()[:200], "not a valid docx"),
    ],
    ids=["types-empty", "wrong-root", "no-body", "bad-footnotes-xml", "bad-document-xml", "truncated"],
)
def test_corrupt_docx_variants(tmp_path: Path, raw: bytes, expected: str) -> None:
    assert reason(tmp_path, "bad.docx", raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (pdf("<</Type/Catalog/Pages 2 0 R>>", "<</Type/Pages/Kids[2 0 R]/Count 1>>"),
         "cannot parse as PDF (FzErrorFormat: code=7: cycle in page tree)"),
        (pdf("<</Type/Catalog/Pages 2 0 R>>", "<</Type/Pages/Kids[]/Count 0>>"), "corrupt PDF: no pages"),
        (pdf("<</Type/Catalog/Pages 2 0 R>>", "<</Type/Pages/Kids[3 0 R]/Count 1>>",
             "<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>"), "no text found (scanned PDF?)"),
        (b"%PDF-1.7\n garbage \x00\x01", "corrupt PDF: failed to open stream"),
    ],
    ids=["page-tree-cycle", "no-pages", "no-text", "garbage"],
)
def test_corrupt_pdf_variants(tmp_path: Path, raw: bytes, expected: str) -> None:
    assert reason(tmp_path, "bad.pdf", raw) == expected


def test_absurdly_nested_html_is_skipped(tmp_path: Path) -> None:
    nested = b"<html><body>" + b"<div>" * 5000 + b"deep text." + b"</div>" * 5000 + b"</body></html>"
    assert reason(tmp_path, "deep.html", nested).startswith(
        "cannot parse as HTML (RecursionError: maximum recursion depth exceeded")


def test_nested_sup_tags_are_not_quadratic(tmp_path: Path) -> None:
    """Each ``<sup>`` used to be searched to its bottom for a marker: 5,000 nested ones took minutes."""
    nested = b"<p>x" + b"<sup>" * 5000 + b"1" + b"</sup>" * 5000 + b"</p>"
    assert reason(tmp_path, "sup.html", nested).startswith("cannot parse as HTML (RecursionError: ")


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("nul.html", b"<html>\x00\x00<body>hi</body>", "binary file"),
        ("blank.html", b"  \n", "empty file"),
        ("empty.html", b"<html><body><script>x()</script></body></html>", "no text found"),
        ("surrogate.txt", b"\xff\xfe\x00\xd8abc", "binary file"),
        ("nul.txt", b"Title\n\n" + b"\x00" * 100, "binary file"),
        ("png.md", bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001"), "binary file"),
        ("blank.md", b"\n\n\t\n", "empty file"),
    ],
)
def test_corrupt_text_formats(tmp_path: Path, name: str, raw: bytes, expected: str) -> None:
    assert reason(tmp_path, name, raw) == expected
