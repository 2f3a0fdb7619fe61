"""Character clean-up applied to every block before offsets are taken, so quotes stay slices of the
stored text: accents drawn as separate glyphs are put back on their letter, ligatures are spelled out,
invisible characters removed, and the result is NFC.

Only changes that keep the words are made: no NFKC (it would turn ``10⁶`` into ``106`` and ``½`` into
``1⁄2``), and no quote or dash folding.
"""

from __future__ import annotations

import re
import unicodedata

# A spacing accent (as PDF text layers write an accent drawn over a letter) and its combining form.
_SPACING_ACCENTS = {
    "\u00b4": "\u0301",  # acute
    "\u02ca": "\u0301",
    "\u02cb": "\u0300",  # modifier grave (the ASCII backtick is code quoting, never an accent)
    "\u02c6": "\u0302",  # circumflex
    "\u02dc": "\u0303",  # tilde
    "\u00a8": "\u0308",  # diaeresis
    "\u00b8": "\u0327",  # cedilla
    "\u02db": "\u0328",  # ogonek
    "\u02d8": "\u0306",  # breve
    "\u02c7": "\u030c",  # caron
    "\u02da": "\u030a",  # ring
    "\u02dd": "\u030b",  # double acute
    "\u00af": "\u0304",  # macron
    "\u02d9": "\u0307",  # dot above
}
_ACCENT = re.compile("[" + "".join(_SPACING_ACCENTS) + "]")
_LIGATURES = str.maketrans({
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st",
    "\ufb06": "st",
})
# Soft hyphen, zero-width space, word joiner, byte-order mark. Zero-width (non-)joiners stay: they
# change how Persian, Arabic and Indic words are written.
_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff]")


def normalize(text: str) -> str:
    """The text with spacing accents combined, ligatures expanded, invisibles removed, in NFC."""
    if text.isascii():
        return text
    text = _INVISIBLE.sub("", text.translate(_LIGATURES))
    if _ACCENT.search(text):
        text = _combine_accents(text)
    return unicodedata.normalize("NFC", text)


_VOWELS = "aeiouyAEIOUY"
# The letters each accent is put on: an acute or grave between consonants ("it´s") is an apostrophe.
_TAKES = {
    "\u0301": _VOWELS, "\u0300": _VOWELS, "\u0302": _VOWELS, "\u0303": _VOWELS + "nN",
    "\u0308": _VOWELS, "\u0327": "cCsStT", "\u0328": "aAeEiIuU", "\u0306": "aAgGuU",
    "\u030c": "cCsSzZrRnNdDtTeE", "\u030a": "aAuU", "\u030b": "oOuU", "\u0304": _VOWELS,
    "\u0307": "eEzZgGcCI",
}


def _combines(letter: str, mark: str) -> bool:
    return bool(letter) and letter in _TAKES[mark] and len(unicodedata.normalize("NFC", letter + mark)) == 1


def _combine_accents(text: str) -> str:
    """Put each spacing accent on the letter before it, or else the letter after it, where the two make
    one precomposed character; an accent standing alone (a quoted ``´``) is kept."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        mark = _SPACING_ACCENTS.get(char)
        if mark is not None:
            if out and _combines(out[-1][-1:], mark):
                out.append(mark)
                i += 1
                continue
            if i + 1 < len(text) and _combines(text[i + 1], mark):
                out.append(text[i + 1] + mark)
                i += 2
                continue
        out.append(char)
        i += 1
    return "".join(out)
