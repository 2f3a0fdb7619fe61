"""The real seed documents: structure, the report's own footnotes, and every passage invariant."""

from __future__ import annotations

import re
from functools import cache

import pytest

from footnote.ingest import Document, Passage, chunk, count_tokens, parse
from footnote.ingest.tokens import count_word_pieces
from tests.conftest import ARTICLE, CORPUS, REPORT

SUPERSCRIPT_DIGITS = re.compile("[⁰¹²³⁴⁵⁶⁷⁸⁹]")
NO_URL = {"32", "33", "34"}


@cache
def report() -> Document:
    return parse(REPORT, CORPUS)


@cache
def article() -> Document:
    return parse(ARTICLE, CORPUS)


@cache
def passages(which: str) -> list[Passage]:
    return chunk(report() if which == "report" else article())


def containing(which: str, needle: str) -> Passage:
    found = [p for p in passages(which) if needle in p.text]
    assert len(found) == 1, f"{needle!r} is in {len(found)} passages"
    return found[0]


def test_report_identity() -> None:
    doc = report()
    assert doc.doc_id == "cet-index-2025-japan-report"
    assert doc.path == "cet-index-2025-japan-report.txt"
    assert doc.title == "Critical and Emerging Technologies Index 2025: Japan Report"
    assert doc.format == "txt"
    assert len(doc.sha256) == 64
    assert parse(REPORT).doc_id == "cet-index-2025-japan-report"


def test_dx_passage_cites_footnote_1_with_its_url() -> None:
    passage = containing("report", "Digital transformation (DX) in businesses has not progressed sufficiently")
    note = next(c for c in passage.citations if c.marker == "1")
    assert note.urls == ("https://www.ipa.go.jp/publish/wp-dx/gmcbt8000000botk-att/000108043.pdf",)
    assert note.text.startswith("Information-technology Promotion Agency (IPA). DX White Paper 2023")
    assert passage.section == ("Artificial Intelligence", "Status Quo")


def test_sentence_interrupted_by_footnote_block_is_mended() -> None:
    sentence = "These efforts also include facilitating the matching of managerial talent and leadership."
    passage = containing("report", sentence)
    assert sentence in [passage_text(passage, s) for s in passage.sentences]
    assert passage.section == ("Biotechnologies", "Recommendations")
    quantum = "Encourage the establishment of R&D centers by Global companies in Japan"
    assert containing("report", quantum).section == ("Quantum Technologies", "Recommendations")


def passage_text(passage: Passage, span: tuple[int, int]) -> str:
    return report().text[span[0]:span[1]]


def test_no_footnote_definition_leaks_into_body() -> None:
    doc = report()
    for leaked in (
        "Pharmaceuticals and Medical Devices Agency, Efforts for Approval Review",
        "https://",
        "Ministry of Education, Culture, Sports, Science and Technology",
        "aist.go.jp",
    ):
        assert leaked not in doc.text
        assert not any(leaked in p.text for p in passages("report"))


def test_all_38_footnotes_with_urls() -> None:
    doc = report()
    assert [c.marker for c in doc.footnotes] == [str(n) for n in range(1, 39)]
    for note in doc.footnotes:
        if note.marker in NO_URL:
            assert note.urls == ()
        else:
            assert len(note.urls) == 1, note
            assert note.urls[0].startswith("https://")
            assert not note.urls[0].endswith((".", ">", ","))
    assert doc.footnote("34").text == "Ministry of Finance"
    assert doc.footnote("28").urls == ("https://unit.aist.go.jp/g-quat/index_en.html",)
    assert doc.footnote("30").urls == ("https://journal.meti.go.jp/p/21998/",)
    assert doc.footnote("17").urls == (
        "https://www.meti.go.jp/shingikai/sankoshin/seizo_sangyo/space_industry/pdf/001_05_00.pdf",
    )
    # Every marker in the body has its note, and every note is cited somewhere.
    assert sorted({m for _, m in doc.markers}, key=int) == [str(n) for n in range(1, 39)]


def test_markers_stand_where_the_superscripts_were() -> None:
    doc = report()
    where = {m: o for o, m in doc.markers}
    assert doc.text[: where["1"]].endswith("has not progressed sufficiently")
    assert doc.text[: where["32"]].endswith("such as MEXT")
    assert doc.text[: where["2"]].endswith("methods for ensuring AI safety.")
    passage = containing("report", "such as MEXT, METI, and MOF")
    assert {"32", "33", "34", "35"} <= {c.marker for c in passage.citations}


def test_numbered_priorities_are_body_text_not_footnotes() -> None:
    doc = report()
    assert "1. Strengthening industry-academia-government collaboration (including within government);" in doc.text
    passage = containing("report", "5. Growing the pool of talent with technical understanding.")
    assert passage.section == ("Executive Summary",)
    sentences = [doc.text[s:e] for s, e in passage.sentences]
    assert "1. Strengthening industry-academia-government collaboration (including within government);" in sentences
    assert "5. Growing the pool of talent with technical understanding." in sentences


def test_kioxia_section_and_bold_stripped() -> None:
    passage = containing("report", "KIOXIA continues to produce cutting-edge NAND memory")
    assert passage.section[-2:] == ("Semiconductors", "Status Quo")
    assert "10" in {c.marker for c in passage.citations}


def test_report_section_tree() -> None:
    paths = [s.path for s in report().sections]
    assert paths[:5] == [
        ("Critical and Emerging Technologies Index 2025: Japan Report",),
        ("Executive Summary",),
        ("General Overview",),
        ("Artificial Intelligence",),
        ("Artificial Intelligence", "Status Quo"),
    ]
    assert ("Space Technologies", "Status quo") in paths
    assert ("Quantum Technologies", "Recommendations") in paths
    assert paths[-1] == ("Governance Structure",)
    assert len(paths) == 19


def test_sentences_handle_abbreviations() -> None:
    doc = report()
    sentences = {doc.text[s:e] for p in passages("report") for s, e in p.sentences}
    assert (
        "Japan leads in patents granted across quantum technologies with the U.S, but universities offering "
        "quantum technology research programs and master's degrees are smaller than the US and EU." in sentences
    )
    assert any(s.startswith("Some startups (ex. OptQC-optical quantum computer) and RIKEN") for s in sentences)
    assert any(s.startswith("Moreover, while many crossover funds in the U.S. provide risk capital") for s in sentences)
    assert any(s.endswith("by the end of FY2024.") for s in sentences)


def test_article_title_and_sections() -> None:
    doc = article()
    assert doc.title == "Technology Policy Of Japan"
    assert "JapanEdit" not in doc.text
    paths = [s.path for s in doc.sections]
    assert paths == [
        ("Technology Policy Of Japan",),
        ("Policy framework and institutions",),
        ("Investment in research, development, and talent",),
        ("Intellectual property, standards, and competitive policy",),
        ("Digital governance, data, and privacy",),
        ("Industry policy and strategic sectors",),
        ("International strategy and security dimension",),
        ("Regulation, controversy, and debates",),
        ("See also",),
    ]
    assert doc.footnotes == () and doc.markers == ()
    lead = containing("article", "Japan has long integrated advanced technology policy")
    assert lead.section == ("Technology Policy Of Japan",)


def test_article_see_also_list() -> None:
    doc = article()
    see_also = [p for p in passages("article") if p.section == ("See also",)]
    assert len(see_also) == 1
    items = [doc.text[s:e] for s, e in see_also[0].sentences]
    assert items[0] == "Japan" and items[-1] == "Data localization" and len(items) == 15
    assert "Japan–United States relations" in items
    # The list-introducing line is body text, not a heading.
    assert "Semiconductors and advanced electronics: policies support domestic design" in doc.text
    assert not any(s.path[-1].startswith("Semiconductors") for s in doc.sections)


@pytest.mark.parametrize("which", ["report", "article"])
@pytest.mark.parametrize("budget", [160, 64, 400])
def test_passage_invariants(which: str, budget: int) -> None:
    doc = report() if which == "report" else article()
    result = chunk(doc, budget=budget)
    assert result
    section_spans = [(s.start, s.end) for s in doc.sections]
    for p in result:
        assert p.text == doc.text[p.start:p.end]
        assert p.text == p.text.strip()
        assert p.title == doc.title
        assert p.tokens == count_tokens(p.text)
        assert p.sentences and p.sentences[0][0] == p.start and p.sentences[-1][1] == p.end
        for s, e in p.sentences:
            assert p.start <= s < e <= p.end <= len(doc.text)
        assert any(a <= p.start and p.end <= b for a, b in section_spans), "passage crosses a section"
        if len(p.sentences) > 1:
            assert p.tokens <= budget
        assert count_word_pieces(p.text) <= 256
        assert p.citations == doc.citations_between(p.start, p.end)
    ids = [p.id for p in result]
    assert ids == [f"{doc.doc_id}-{n:04d}" for n in range(len(result))]


def test_tiny_budget_splits_long_sentences_at_word_boundaries() -> None:
    doc = report()
    result = chunk(doc, budget=8)
    for p in result:
        assert p.tokens <= 8
        assert not p.text[0].isspace() and not p.text[-1].isspace()
        before = doc.text[p.start - 1] if p.start else " "
        after = doc.text[p.end] if p.end < len(doc.text) else " "
        assert not (before.isalnum() and p.text[0].isalnum()), "split inside a word"
        assert not (after.isalnum() and p.text[-1].isalnum()), "split inside a word"


def test_overlap_repeats_sentences() -> None:
    plain = chunk(report(), budget=60)
    overlapped = chunk(report(), budget=60, overlap=1)
    assert len(overlapped) > len(plain)
    pairs = zip(overlapped, overlapped[1:], strict=False)
    assert any(a.section == b.section and a.sentences[-1] == b.sentences[0] for a, b in pairs)


def test_stable_ids_and_clean_text() -> None:
    for path in (REPORT, ARTICLE):
        first, second = parse(path, CORPUS), parse(path, CORPUS)
        assert first == second
        assert [p.to_dict() for p in chunk(first)] == [p.to_dict() for p in chunk(second)]
        assert "**" not in first.text
        assert not SUPERSCRIPT_DIGITS.search(first.text)
        assert "\ue000" not in first.text and "\ufffd" not in first.text


def test_round_trip_through_dicts() -> None:
    doc = report()
    assert Document.from_dict(doc.to_dict()) == doc
    for p in passages("report"):
        assert Passage.from_dict(p.to_dict()) == p
