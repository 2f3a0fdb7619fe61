"""A generated multi-page PDF whose answer stands on page 3, for the page and "Show on page" tests."""

from __future__ import annotations

from pathlib import Path

QUESTION = "How much blue slate did the Vellicott quarry produce in 1874?"
SENTENCE = "The Vellicott quarry produced eleven thousand tonnes of blue slate in 1874."
TITLE = "The Marrowdale Survey"
WIDTH, HEIGHT = 612, 792  # US Letter, in points

PAGES = [
    ("Introduction", [
        "Marrowdale is a valley town in the northern hills, founded by wool traders in the twelfth century.",
        "This survey records its rivers, its quarry and its railway as they stood at the end of the "
        "nineteenth century, from the parish registers and the county archive.",
    ]),
    ("Rivers", [
        "Two rivers meet below the town: the Arle, which is slow and brown with peat, and the Tamsin, which "
        "runs clear over gravel from the high moor.",
        "The mill weir on the Arle was rebuilt in 1852 after a winter flood carried away the old timber one.",
    ]),
    ("The Quarry", [
        "The quarry lies on the western slope, above the road to the moor, and employed most of the men of "
        "the upper town.",
        SENTENCE + " Most of it left the valley on carts to the canal wharf at Pellham.",
        "The quarry closed in 1911 when the seam ran thin and the roofing trade moved to cheaper slate.",
    ]),
    ("The Railway", [
        "The branch line from Pellham reached Marrowdale in 1881 and carried passengers until 1958.",
        "Its station building still stands and is now the town library.",
    ]),
]


def make_survey_pdf(path: Path) -> Path:
    """Four US Letter pages: the title on page 1, one section per page, the quarry sentence on page 3."""
    import pymupdf

    doc = pymupdf.open()
    for number, (heading, paragraphs) in enumerate(PAGES, 1):
        page = doc.new_page(width=WIDTH, height=HEIGHT)
        y = 72.0
        if number == 1:
            page.insert_text((72, y + 24), TITLE, fontsize=24, fontname="hebo")
            y += 56
        page.insert_text((72, y + 16), heading, fontsize=16, fontname="hebo")
        y += 36
        for paragraph in paragraphs:
            rect = pymupdf.Rect(72, y, WIDTH - 72, y + 120)
            left = page.insert_textbox(rect, paragraph, fontsize=11, fontname="helv")
            y += 120 - left + 12  # insert_textbox returns the height left unused
    doc.save(str(path))
    doc.close()
    return path


MARKDOWN = "# Kestrel Field Guide\n\n## Nesting Habits\n\nThe kestrel nests in old crow nests and on cliff ledges.\n"


def page_corpus(root: Path) -> Path:
    """``root/index``: an index of the small upload corpus, the survey PDF and a Markdown guide; ``root``."""
    from footnote.index.build import update_index
    from tests.service.upload_helpers import small_corpus

    folder = small_corpus(root / "corpus")
    make_survey_pdf(folder / "survey.pdf")
    (folder / "kestrel.md").write_text(MARKDOWN, encoding="utf-8")
    update_index([folder], root / "index", echo=lambda line: None)
    return root
