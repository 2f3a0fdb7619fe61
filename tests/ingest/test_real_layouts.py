"""Real layouts, read right: pages 1-6 of a three-column Federal Register notice (US federal work, public
domain; tests/fixtures/real/README.md), with running headers, a rotated margin stamp, footnotes and a
ruled cost table that continues on the next page."""

from __future__ import annotations

from pathlib import Path

import pytest

from footnote.ingest.chunking import chunk
from footnote.ingest.documents import parse
from footnote.ingest.models import Document, Passage

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "real"
NOTICE = FIXTURES / "federal-register-2020-17221-pages-1-6.pdf"


@pytest.fixture(scope="module")
def notice() -> Document:
    return parse(NOTICE, FIXTURES)


@pytest.fixture(scope="module")
def passages(notice: Document) -> list[Passage]:
    return chunk(notice)


def sentences(notice: Document, passages: list[Passage]) -> list[tuple[str, Passage]]:
    return [(notice.text[s:e], p) for p in passages for s, e in p.sentences]


def test_no_margin_stamp_or_page_furniture_in_any_passage(passages: list[Passage]) -> None:
    for passage in passages:
        for furniture in ("DSKJLSW7X2PROD", "jbell on", "VerDate", "Frm 0000", "Sfmt", "06AUP1",
                          "Federal Register / Vol. 85"):
            assert furniture not in passage.text, (furniture, passage.id)


def test_the_sentence_across_the_page_break_is_whole(notice: Document, passages: list[Passage]) -> None:
    whole = ("On October 29, 2018, a Boeing Model 737–8 airplane operated by Lion Air (Lion Air Flight 610) "
             "was involved in an accident after takeoff from Soekarno-Hatta International Airport in Jakarta, "
             "Indonesia, resulting in 189 fatalities.")
    found = [p for text, p in sentences(notice, passages) if text == whole]
    assert len(found) == 1
    assert found[0].section == ("Background",)


def test_a_name_split_by_a_run_in_heading_is_joined(notice: Document) -> None:
    assert "FOR FURTHER INFORMATION CONTACT: Ian Won, Manager, Seattle ACO Branch" in notice.text


def test_the_table_row_is_quoted_whole_under_its_caption(notice: Document, passages: list[Passage]) -> None:
    row = ("Action: AFM revisions; Labor cost: 1 work-hour × $85 per hour = $85; Parts cost: $0; "
           "Cost per product: $85; Cost on U.S. operators: $6,205.")
    found = [p for text, p in sentences(notice, passages) if text == row]
    assert len(found) == 1
    assert found[0].section == ("Costs of Compliance", "ESTIMATED COSTS")
    # The table is a passage of its own: no sentence of the body text shares it.
    assert found[0].text.startswith("Action: FCC OPS installation and verification;")
    continued = ("Action: Stabilizer wiring change; Labor cost: Up to 79 work-hours × $85 per hour = Up to "
                 "$6,715.; Parts cost: Up to $3,790; Cost per product: Up to $10,505; Cost on U.S. operators: "
                 "Up to $766,865.")
    assert continued in notice.text.split("\n")


def test_headings_come_from_bold_lines(notice: Document, passages: list[Passage]) -> None:
    sentence = ("CBI is commercial or financial information that is both customarily and actually treated as "
                "private by its owner.")
    found = [p for text, p in sentences(notice, passages) if text == sentence]
    assert [p.section for p in found] == [("Confidential Business Information (CBI)",)]
    paths = [s.path for s in notice.sections]
    for heading in ("Background", "Proposed Design Changes", "Costs of Compliance", "Regulatory Findings"):
        assert (heading,) in paths


def test_a_footnote_that_explains_is_a_passage_and_still_cited(notice: Document, passages: list[Passage]) -> None:
    definition = "The angle of attack (or AOA) is the angle at which the airplane wing meets the oncoming air."
    found = [p for text, p in sentences(notice, passages) if text == definition]
    assert [p.section for p in found] == [("Background", "footnote 4")]
    citing = [p for p in passages if "single erroneously high angle of attack (AOA) sensor input" in p.text]
    assert citing and "4" in {c.marker for c in citing[0].citations}
    # A note that only names a report stays a citation, not a passage.
    assert not any(p.section[-1] == "footnote 1" for p in passages)


def test_spacing_accents_are_put_back_on_their_letters(notice: Document) -> None:
    assert "Agência Nacional de Aviação Civil (ANAC) Brazil" in notice.text
    assert "ˆ" not in notice.text and "¸" not in notice.text


def test_a_url_broken_across_lines_is_whole(notice: Document) -> None:
    url = "http://knkt.dephub.go.id/knkt/ntsc_aviation/baru/2018%20-%20035%20-%20PK-LQP%20Final%20Report.pdf"
    assert f"({url})" in notice.text
    assert "internet https://www.myboeingfleet.com." in notice.text


def test_the_page_map_puts_each_sentence_on_its_pages(notice: Document, passages: list[Passage]) -> None:
    """The PDF's own words inside each sentence's boxes are the sentence (letters compared: the footnote
    numbers printed inside a sentence are not in the clean text). Tables are the known exception: their
    rows carry column names the page prints once."""
    import re

    import pymupdf

    from footnote.index.pages import PageMap

    assert notice.page_map is not None
    pages = PageMap(notice.page_map)
    with pymupdf.open(NOTICE) as pdf:
        printed = [page.get_text("words") for page in pdf]

    def inside(page: int, box: pymupdf.Rect) -> str:
        return " ".join(w[4] for w in printed[page - 1]
                        if box.contains(pymupdf.Point((w[0] + w[2]) / 2, (w[1] + w[3]) / 2)))

    def letters(text: str) -> str:
        return re.sub(r"[^a-z]", "", text.lower())

    whole = checked = 0
    for passage in passages:
        if passage.text.startswith("Action: "):
            continue
        for start, end in passage.sentences:
            got = " ".join(inside(b.page, pymupdf.Rect(b.x0, b.y0, b.x1, b.y1)) for b in pages.boxes(start, end))
            checked += 1
            whole += letters(got) == letters(notice.text[start:end])
    assert checked > 200 and whole / checked >= 0.95, (whole, checked)
    across = notice.text.index("On October 29, 2018, a Boeing Model 737–8 airplane operated by Lion Air")
    assert pages.pages(across, notice.text.index("189 fatalities.", across) + 15) == [1, 2]
    definition = notice.text.index("The angle of attack (or AOA) is the angle at which")
    assert pages.pages(definition, definition + 40) == [2]
