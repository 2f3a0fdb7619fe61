"""Encodings decoded exactly, bad files refused with their exact reason, and file discovery."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from footnote.errors import InputError, UnreadableDocument, UnsupportedFormat
from footnote.ingest import discover, parse

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63")
JAPANESE = "日本の技術政策\n\n日本は先端技術政策を経済安全保障と統合してきた。半導体への投資が続いている。\n"
WESTERN = "Café Report\n\nThe “quoted” budget is €5 million — a naïve estimate’s upper bound.\n"


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("utf-8", WESTERN),
        ("utf-8-sig", WESTERN),
        ("utf-16", WESTERN),
        ("utf-16-le", WESTERN),
        ("shift_jis", JAPANESE),
        ("cp1252", WESTERN),
    ],
)
def test_text_encodings_decode_exactly(tmp_path: Path, encoding: str, text: str) -> None:
    path = tmp_path / "doc.txt"
    path.write_bytes(text.encode(encoding))
    if encoding == "utf-16":
        assert path.read_bytes()[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    doc = parse(path)
    expected_title, _, body = text.strip().partition("\n\n")
    assert doc.title == expected_title
    assert doc.text == text.strip()
    assert body in doc.text
    assert "\ufffd" not in doc.text and "\ufeff" not in doc.text


def test_japanese_sentences(tmp_path: Path) -> None:
    from footnote.ingest import chunk

    path = tmp_path / "jp.txt"
    path.write_bytes(JAPANESE.encode("shift_jis"))
    (passage,) = chunk(parse(path))
    sentences = [passage.text[s - passage.start:e - passage.start] for s, e in passage.sentences]
    assert sentences == ["日本は先端技術政策を経済安全保障と統合してきた。", "半導体への投資が続いている。"]


def reason(path: Path, root: Path | None = None) -> tuple[str, str]:
    with pytest.raises((UnreadableDocument, UnsupportedFormat)) as caught:
        parse(path, root)
    return type(caught.value).__name__, caught.value.reason


def test_empty_files(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_text("  \n\n\t\n")
    (tmp_path / "empty.pdf").write_bytes(b"")
    assert reason(tmp_path / "empty.txt") == ("UnreadableDocument", "empty file")
    assert reason(tmp_path / "blank.md") == ("UnreadableDocument", "empty file")
    assert reason(tmp_path / "empty.pdf") == ("UnreadableDocument", "empty file")


def test_binary_file_named_txt(tmp_path: Path) -> None:
    (tmp_path / "image.txt").write_bytes(PNG)
    assert reason(tmp_path / "image.txt") == ("UnreadableDocument", "binary file")


def test_corrupt_pdf(tmp_path: Path) -> None:
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\n this is not really a PDF \x00\x01")
    (tmp_path / "text.pdf").write_text("just some text, not a PDF")
    assert reason(tmp_path / "broken.pdf") == ("UnreadableDocument", "corrupt PDF: failed to open stream")
    assert reason(tmp_path / "text.pdf") == ("UnreadableDocument", "corrupt PDF: failed to open stream")


def test_corrupt_docx(tmp_path: Path) -> None:
    (tmp_path / "garbage.docx").write_bytes(b"PK\x03\x04" + b"garbage" * 20)
    (tmp_path / "plain.docx").write_text("not a zip at all")
    assert reason(tmp_path / "garbage.docx") == ("UnreadableDocument", "not a valid docx")
    assert reason(tmp_path / "plain.docx") == ("UnreadableDocument", "not a valid docx")


def test_unsupported_extension(tmp_path: Path) -> None:
    (tmp_path / "data.xyz").write_text("hello")
    (tmp_path / "README").write_text("hello")
    assert reason(tmp_path / "data.xyz") == ("UnsupportedFormat", "unsupported format (.xyz)")
    assert reason(tmp_path / "README") == ("UnsupportedFormat", "unsupported format (no extension)")


def test_unreadable_path(tmp_path: Path) -> None:
    # Tests run as root, which chmod cannot lock out: a directory named like a file is the honest
    # stand-in for a file that cannot be read.
    (tmp_path / "folder.txt").mkdir()
    assert reason(tmp_path / "folder.txt") == ("UnreadableDocument", "cannot read: is a directory")


def test_permission_denied(tmp_path: Path) -> None:
    """A file the process may not read is skipped with its reason. Root reads anything, so as root the
    parse runs in a child process without the capabilities that bypass file permissions (util-linux
    ``setpriv``, on every Debian)."""
    import os
    import subprocess
    import sys

    path = tmp_path / "secret.txt"
    path.write_text("Secret\n\nText.")
    path.chmod(0)
    if os.geteuid() != 0:
        assert reason(path) == ("UnreadableDocument", "cannot read: permission denied")
        return
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from footnote.errors import DocumentError\n"
        "from footnote.ingest import parse\n"
        "try:\n"
        "    parse(Path(sys.argv[1]))\n"
        "except DocumentError as exc:\n"
        "    print(type(exc).__name__, exc.reason, sep='|')\n"
    )
    root = Path(__file__).resolve().parents[2]
    command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", sys.executable, "-c", code, str(path)]
    out = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(root)})
    assert out.stdout.strip() == "UnreadableDocument|cannot read: permission denied", out.stderr


def test_error_message_names_the_relative_path(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "empty.txt").write_bytes(b"")
    with pytest.raises(UnreadableDocument) as caught:
        parse(tmp_path / "sub" / "empty.txt", tmp_path)
    assert str(caught.value) == "sub/empty.txt: empty file"
    assert caught.value.path == "sub/empty.txt"


def test_doc_id_and_path_relative_to_root(tmp_path: Path) -> None:
    folder = tmp_path / "Reports 2025"
    folder.mkdir()
    path = folder / "CET Index_Japan.txt"
    path.write_text("Title\n\nBody text.")
    doc = parse(path, tmp_path)
    assert (doc.doc_id, doc.path) == ("reports-2025-cet-index_japan", "Reports 2025/CET Index_Japan.txt")
    assert parse(path).doc_id == "cet-index_japan"


def test_discover(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text("x")
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "notes.xyz").write_text("x")
    (tmp_path / ".hidden.txt").write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "c.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.HTML").write_text("x")
    (tmp_path / "sub" / "d.pdf").write_bytes(b"%PDF")
    (tmp_path / "sub" / "e.docx").write_bytes(b"PK")
    single = tmp_path / "single.htm"
    single.write_text("x")
    files, skipped = discover([tmp_path / "sub", tmp_path, single])
    assert files == sorted([
        tmp_path / "a.txt", tmp_path / "b.md", tmp_path / "single.htm",
        tmp_path / "sub" / "c.HTML", tmp_path / "sub" / "d.pdf", tmp_path / "sub" / "e.docx",
    ])
    assert skipped == [(tmp_path / "notes.xyz", "unsupported format (.xyz)")]


def test_discover_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        discover([tmp_path / "nope"])
