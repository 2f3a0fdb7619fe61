"""Parse workers (ingest.worker) and the checks before expanding (ingest.guards), with small hostile files
written here: a breach skips only its file, with the reason, and the run goes on."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest

from footnote.errors import UnreadableDocument
from footnote.ingest.guards import GuardLimits, check_zip
from footnote.ingest.worker import ParseLimits, ParsePool, ParseTask, parse_files

GOOD = "A lighthouse keeper logs every ship. The log is kept in the tower.\n"


def _prose(sentences: int) -> str:
    return "Title\n\n" + " ".join(f"Sentence {i} is about ships and the tower that guides them."
                                  for i in range(sentences)) + "\n"


def _bomb_docx(path: Path, mb: int = 40) -> Path:
    """A docx whose document.xml expands to ``mb`` MB of spaces (compressed about 1000:1)."""
    body = b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/' \
           b'main"><w:body><w:p><w:r><w:t>' + b" " * (mb << 20) + b"</w:t></w:r></w:p></w:body></w:document>"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", body)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture
def pool() -> ParsePool:
    return ParsePool(ParseLimits(workers=1))


def _one(pool: ParsePool, path: Path) -> object:
    (outcome,) = pool.run([ParseTask(path, path.parent)])
    return outcome


def test_the_memory_limit_kills_only_that_worker_and_names_the_setting(tmp_path: Path) -> None:
    hog = tmp_path / "hog.txt"
    hog.write_text("word " * ((24 << 20) // 5))  # 24 MB: decoding and splitting it take well over 64 MB
    good = tmp_path / "good.txt"
    good.write_text(GOOD)
    limits = ParseLimits(workers=1, max_mb=64)
    pool = ParsePool(limits)
    try:
        hog_outcome, good_outcome = pool.run([ParseTask(hog, tmp_path), ParseTask(good, tmp_path)])
    finally:
        pool.close()
    assert isinstance(hog_outcome, UnreadableDocument)
    assert hog_outcome.reason == ("stopped: it needed more than 64 MB of memory to read (FOOTNOTE_PARSE_MAX_MB)")
    assert isinstance(good_outcome, tuple) and good_outcome[0].doc_id == "good"


@pytest.mark.parametrize(("limits", "reason"), [
    (ParseLimits(workers=1, wall_seconds=0.5), "stopped: reading it took more than 0.5 s "
                                               "(FOOTNOTE_PARSE_WALL_SECONDS)"),
    (ParseLimits(workers=1, cpu_seconds=1), "stopped: it needed more than 1 s of processor time to read "
                                            "(FOOTNOTE_PARSE_CPU_SECONDS)"),
    (ParseLimits(workers=1, max_output_mb=1), "stopped: its text and passages came to more than 1 MB "
                                              "(FOOTNOTE_PARSE_MAX_OUTPUT_MB)"),
])
def test_time_and_output_limits(tmp_path: Path, limits: ParseLimits, reason: str) -> None:
    slow = tmp_path / "slow.txt"
    slow.write_text(_prose(12_000 if limits.max_output_mb > 1 else 8_000))  # about 0.7 MB of prose
    good = tmp_path / "good.txt"
    good.write_text(GOOD)
    pool = ParsePool(limits)
    try:
        started = time.monotonic()
        slow_outcome, good_outcome = pool.run([ParseTask(slow, tmp_path), ParseTask(good, tmp_path)])
        elapsed = time.monotonic() - started
    finally:
        pool.close()
    assert isinstance(slow_outcome, UnreadableDocument), slow_outcome
    assert slow_outcome.reason == reason
    assert isinstance(good_outcome, tuple)
    assert elapsed < 60


def test_workers_stay_up_and_never_load_the_model(pool: ParsePool, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(GOOD)
    try:
        first = _one(pool, tmp_path / "a.txt")
        pids = [w.process.pid for w in pool._workers]
        second = _one(pool, tmp_path / "a.txt")
        assert [w.process.pid for w in pool._workers] == pids  # the same process read both
        modules = pool.modules()
    finally:
        pool.close()
    assert isinstance(first, tuple) and isinstance(second, tuple) and first[1] == second[1]
    assert "torch" not in modules and "sentence_transformers" not in modules and "transformers" not in modules


def test_a_zip_bomb_docx_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    bomb = _bomb_docx(tmp_path / "bomb.docx")
    with pytest.raises(UnreadableDocument, match=r"compressed \d+:1, more than 100:1 \(FOOTNOTE_ZIP_MAX_RATIO\)"):
        check_zip(bomb.read_bytes(), "bomb.docx", GuardLimits())
    with pytest.raises(UnreadableDocument, match=r"more than 10 MB \(FOOTNOTE_ZIP_MAX_MB\)"):
        check_zip(bomb.read_bytes(), "bomb.docx", GuardLimits(zip_max_mb=10, zip_max_ratio=10**6))
    (outcome,) = parse_files([ParseTask(bomb, tmp_path)], ParseLimits(workers=0))
    assert isinstance(outcome, UnreadableDocument) and "FOOTNOTE_ZIP_MAX_RATIO" in outcome.reason


def test_a_pdf_stream_bomb_is_refused_page_by_page(tmp_path: Path) -> None:
    pymupdf = pytest.importorskip("pymupdf")
    from footnote.ingest.guards import check_pdf

    document = pymupdf.open()
    page = document.new_page()
    page.insert_text((72, 72), "Hello there.")
    xref = page.get_contents()[0]
    document.update_stream(xref, b"BT /F1 12 Tf 72 72 Td (x) Tj ET\n" + b" " * (8 << 20), compress=True)
    raw = document.tobytes()
    assert len(raw) < 200_000
    with pytest.raises(UnreadableDocument, match=r"page 1 decodes to more than 4 MB \(FOOTNOTE_PDF_MAX_STREAM_MB\)"):
        check_pdf(raw, "bomb.pdf", GuardLimits(pdf_max_stream_mb=4))
    with pytest.raises(UnreadableDocument, match=r"more than 0 \(FOOTNOTE_PDF_MAX_PAGES\)|FOOTNOTE_PDF_MAX_PAGES"):
        check_pdf(raw, "bomb.pdf", GuardLimits(pdf_max_pages=0))
    check_pdf(raw, "fine.pdf", GuardLimits())  # under the defaults


def test_an_ingest_with_one_bomb_and_two_good_files_adds_the_two(tmp_path: Path) -> None:
    from footnote.index.build import update_index
    from tests.index.fakes import HashingEmbedder

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbour.txt").write_text("Harbour\n\n" + GOOD * 3)
    (docs / "tower.txt").write_text("Tower\n\nThe tower has a lamp. The lamp turns all night.\n")
    (docs / "hog.txt").write_text("word " * ((24 << 20) // 5))
    _bomb_docx(docs / "bomb.docx")
    report = update_index([docs], tmp_path / "index", embedder=HashingEmbedder(),
                          limits=ParseLimits(workers=1, max_mb=64), echo=lambda line: None)
    assert report.documents == 2
    reasons = dict((Path(shown).name, why) for shown, why in report.skipped)
    assert "FOOTNOTE_PARSE_MAX_MB" in reasons["hog.txt"]
    assert "FOOTNOTE_ZIP_MAX_RATIO" in reasons["bomb.docx"]


@pytest.mark.parametrize("name", [
    "spaces.txt",
    "spaces.md",
])
def test_a_heading_of_49k_spaces_finishes_fast(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("# x" + " " * 49_000 + "y\n")
    started = time.monotonic()
    (outcome,) = parse_files([ParseTask(tmp_path / name, tmp_path)], ParseLimits(workers=1, wall_seconds=20))
    assert isinstance(outcome, tuple), outcome
    assert time.monotonic() - started < 20


def test_a_long_single_line_finishes_fast(tmp_path: Path) -> None:
    """0.6 MB on one line, no sentence end, "Mr. A" repeated: linear in sentences and in ``_split_long``."""
    (tmp_path / "line.txt").write_text(" ".join(f"w{i % 50} Mr. A" for i in range(60_000)))
    started = time.monotonic()
    (outcome,) = parse_files([ParseTask(tmp_path / "line.txt", tmp_path)], ParseLimits(workers=1, wall_seconds=60))
    assert isinstance(outcome, tuple), outcome
    assert len(outcome[1]) > 100
    assert time.monotonic() - started < 30
