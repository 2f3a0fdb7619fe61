"""Bytes -> text for the text formats: BOMs first, then strict UTF-8, then charset detection.

Decoding is always strict: a file is either decoded exactly or reported, never filled with U+FFFD.
"""

from __future__ import annotations

import codecs

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# C0 control characters that never occur in real text (tab, newlines, form feed and ESC excluded).
_CONTROL = {chr(c) for c in range(32)} - {"\t", "\n", "\r", "\f", "\x1b"}


class BinaryContent(ValueError):
    """The bytes are not text in any encoding we recognise."""


def decode(raw: bytes) -> str:
    """Decode a text file's bytes; raise ``BinaryContent`` for anything that is not text."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            try:
                return _checked(raw.decode(name))
            except UnicodeDecodeError as exc:
                raise BinaryContent(str(exc)) from exc
    if b"\x00" in raw:
        return _checked(_utf16_without_bom(raw))
    try:
        return _checked(raw.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(raw)
    best = matches.best()
    if best is None or best.encoding is None:
        raise BinaryContent("no encoding fits")
    encoding = best.encoding
    # Western text often fits several code pages equally well; then the far more common cp1252 wins
    # (the detector would otherwise pick cp1250 and turn "naïve" into "naďve").
    for match in matches:
        if (
            match.encoding == "cp1252"
            and match.chaos <= best.chaos + 0.01
            and match.coherence >= best.coherence - 0.01
        ):
            encoding = "cp1252"
    try:
        return _checked(raw.decode(encoding))
    except (UnicodeDecodeError, LookupError) as exc:
        raise BinaryContent(str(exc)) from exc


def _utf16_without_bom(raw: bytes) -> str:
    """Text with NUL bytes is UTF-16 only if the NULs sit in one byte column (ASCII-heavy text)."""
    if len(raw) % 2 == 0 and len(raw) >= 4:
        even, odd = raw[0::2].count(0), raw[1::2].count(0)
        half = len(raw) // 2
        for name, zeros in (("utf-16-le", odd), ("utf-16-be", even)):
            if zeros >= half * 0.3 and (even if name == "utf-16-le" else odd) == 0:
                try:
                    return raw.decode(name)
                except UnicodeDecodeError:
                    break
    raise BinaryContent("NUL bytes")


def _checked(text: str) -> str:
    sample = text[:4096]
    if sample and sum(ch in _CONTROL for ch in sample) > max(2, len(sample) // 100):
        raise BinaryContent("control characters")
    return text
