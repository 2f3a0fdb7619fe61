"""Footnote: answers made of verbatim quotes with numbered, verified footnotes."""

__version__ = "0.1.0"
