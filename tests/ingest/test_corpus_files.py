"""The default corpus is the seed documents, byte for byte, under names that say what they are."""

from __future__ import annotations

import hashlib

from tests.conftest import ARTICLE, CORPUS, REPORT

# sha256 of shared/seeds/000_f8118a39e475356c.txt and 001_5e242681a6118beb.txt
SEEDS = {
    ARTICLE.name: "04e0561133e8a636e226f125712b92c425b6f48a28d36daa0fd2458d7b4d34d4",
    REPORT.name: "0f0a62ed8e9a1580e41f4e0e266a1a60c86534be98581d165357ca700ac022bf",
}


def test_corpus_is_the_seed_documents_byte_for_byte() -> None:
    found = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in CORPUS.iterdir() if p.is_file()}
    assert found == SEEDS
