"""load(): a missing, damaged or foreign index is refused with the message a user can act on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from footnote.errors import IndexIncompatible, IndexMissing, InputError
from footnote.index import versions
from footnote.index.load import current_version, load


@pytest.fixture
def copy(corpus_index: Path, tmp_path: Path) -> Path:
    """A private, plain-folder copy of the session index, free to damage."""
    target = tmp_path / "copy"
    shutil.copytree(versions.resolve(corpus_index), target)
    return target


def _edit_manifest(folder: Path, **changes) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    for key, value in changes.items():
        if isinstance(value, dict):
            manifest[key] = {**manifest[key], **value}
        else:
            manifest[key] = value
    path.write_text(json.dumps(manifest))


def test_missing_index(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing, match=r"^no index at .*nowhere: run `footnote ingest` first$"):
        load(tmp_path / "nowhere")
    assert current_version(tmp_path / "nowhere") is None


def test_the_copy_loads(copy: Path, corpus_index: Path) -> None:
    idx = load(copy)
    assert idx.version == current_version(corpus_index) == current_version(copy)
    assert len(idx.passages) == idx.manifest.counts["passages"]


@pytest.mark.parametrize("name", ["passages.jsonl", "dense.faiss", "sentence_vectors.npy", "bm25/data.csc.index.npy"])
def test_truncated_file_is_refused(copy: Path, name: str) -> None:
    path = copy / name
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(IndexIncompatible, match=rf"is damaged: {name} has \d+ bytes, expected \d+; "
                                                r"re-run `footnote ingest`$"):
        load(copy)


def test_missing_file_is_refused(copy: Path) -> None:
    (copy / "dense.faiss").unlink()
    with pytest.raises(IndexIncompatible, match=r"is damaged: dense.faiss is missing; re-run `footnote ingest`"):
        load(copy)


def test_garbled_file_of_the_right_size_is_refused(copy: Path) -> None:
    path = copy / "dense.faiss"
    path.write_bytes(b"\0" * path.stat().st_size)
    with pytest.raises(IndexIncompatible, match=r"is damaged \(.*\); re-run `footnote ingest`$"):
        load(copy)


def test_other_model_is_refused(copy: Path) -> None:
    _edit_manifest(copy, model={"name": "some/other-model", "sha256": "ab" * 32})
    with pytest.raises(IndexIncompatible, match=r"was built with another embedding model \(some/other-model, "
                                                r"weights sha256 abababababab…, not 53aa51172d14…\); "
                                                r"re-run `footnote ingest`$"):
        load(copy)


def test_other_format_version_is_refused(copy: Path) -> None:
    _edit_manifest(copy, format_version=99)
    with pytest.raises(IndexIncompatible, match=r"has format version 99, this Footnote reads version 1; "
                                                r"re-run `footnote ingest`$"):
        load(copy)


def test_garbage_manifest_is_refused(copy: Path) -> None:
    (copy / "manifest.json").write_text("{not json")
    with pytest.raises(IndexIncompatible, match="damaged manifest.json"):
        load(copy)


def test_a_tampered_default_model_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from footnote.index import embed

    monkeypatch.setattr(embed, "DEFAULT_MODEL_SHA256", "00" * 32)
    with pytest.raises(InputError, match=r"refusing to use .*model.safetensors: sha256 53aa5117.* is not the "
                                         r"published all-MiniLM-L6-v2 weights"):
        embed.Embedder()


def test_sentence_vectors_are_views_per_passage(corpus) -> None:
    matrix, offsets = corpus.all_sentence_vectors
    assert offsets[0] == 0 and offsets[-1] == matrix.shape[0] == corpus.manifest.counts["sentences"]
    for i in (0, len(corpus.passages) - 1):
        p = corpus.passages[i]
        spans, vectors = corpus.sentence_vectors(p.id)
        assert vectors.shape[0] == len(spans) == offsets[i + 1] - offsets[i]
        assert not vectors.flags.writeable
