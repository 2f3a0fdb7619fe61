"""Choosing the vector store: from the settings, once, for every command; Milvus without its extra is one line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from footnote.cli import main
from footnote.errors import InputError
from footnote.index.vectors import FaissStore, choose_store

NO_MILVUS = "error: the Milvus store needs pymilvus: pip install 'footnote[scale]'\n"


def test_the_settings_name_the_store() -> None:
    assert choose_store(None, None) is None  # the index's own
    assert isinstance(choose_store("faiss", None), FaissStore)
    with pytest.raises(InputError, match=r"^FOOTNOTE_MILVUS_URI: a Milvus URI is for the milvus store, not faiss$"):
        choose_store("faiss", "x.db")


@pytest.mark.parametrize("command", [["search", "IBM"], ["ask", "What is Rapidus?"], ["eval", "--modes", "bm25"],
                                     ["ingest", "corpus"]])
def test_without_pymilvus_milvus_is_one_line(command: list[str], corpus_index: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pymilvus", None)  # what an install without the scale extra sees
    monkeypatch.setenv("FOOTNOTE_STORE", "milvus")
    monkeypatch.setenv("FOOTNOTE_MILVUS_URI", str(tmp_path / "m.db"))
    result = CliRunner().invoke(main, [*command, "--index", str(corpus_index)])
    assert (result.exit_code, result.output) == (2, NO_MILVUS)


@pytest.mark.parametrize("command", [["ask", "What is Rapidus?"], ["eval", "--modes", "bm25"]])
def test_ask_and_eval_honour_the_store_setting(command: list[str], corpus_index: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # The corpus index keeps its vectors in FAISS: a Milvus store named by the settings is refused, not ignored.
    monkeypatch.setenv("FOOTNOTE_STORE", "milvus")
    result = CliRunner().invoke(main, [*command, "--index", str(corpus_index)])
    assert result.exit_code == 2
    assert result.output == (f"error: FOOTNOTE_STORE: the index at {corpus_index} keeps its vectors in faiss, "
                             f"not milvus; run `footnote ingest` with this setting to move them\n")
