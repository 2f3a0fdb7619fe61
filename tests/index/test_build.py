"""update_index: incremental updates, removals, duplicates, rebuilds and the version folders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from footnote.errors import InputError, NothingIngested
from footnote.index import versions
from footnote.index.build import update_index
from footnote.index.load import current_version, load
from tests.conftest import ARTICLE, REPORT
from tests.index.fakes import CountingEmbedder, HashingEmbedder


def _update(docs: Path | list[Path], index_dir: Path, embedder=None, lines=None, **kw):
    paths = docs if isinstance(docs, list) else [docs]
    kw.setdefault("chunk_tokens", 160)
    kw.setdefault("overlap", 0)
    echo = lines.append if lines is not None else (lambda line: None)
    return update_index(paths, index_dir, echo=echo, embedder=embedder or CountingEmbedder(), **kw)


@pytest.fixture
def built(docs: Path, tmp_path: Path) -> Path:
    index_dir = tmp_path / "out" / "index"
    report = _update(docs, index_dir)
    assert report.new == (REPORT.name, ARTICLE.name) and report.version == "v000001"
    return index_dir


def test_layout_is_a_symlink_to_a_complete_version(built: Path) -> None:
    assert built.is_symlink() and os.readlink(built) == "index.versions/v000001"
    for name in ("manifest.json", "documents.jsonl", "passages.jsonl", "dense.faiss", "passage_vectors.npy",
                 "sentence_vectors.npy", "sentence_offsets.npy", "bm25/params.index.json"):
        assert (built / name).is_file(), name
    assert current_version(built) == "v000001"
    idx = load(built)
    assert idx.version == "v000001" and len(idx.documents) == 2
    assert idx.manifest.model["sha256"] == "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    assert idx.manifest.chunking["chunk_tokens"] == 160
    assert {d["path"] for d in idx.manifest.documents} == {REPORT.name, ARTICLE.name}


def test_unchanged_rerun_does_no_work(built: Path, docs: Path) -> None:
    counting = CountingEmbedder()
    report = _update(docs, built, counting)
    assert report.up_to_date and counting.calls == []
    idx = load(built)
    assert report.summary() == f"index is up to date: 2 documents, {len(idx.passages)} passages"
    assert current_version(built) == "v000001"
    assert sorted(os.listdir(versions.versions_dir(built))) == [".lock", "v000001"]


def test_changed_file_reembeds_only_its_passages(built: Path, docs: Path) -> None:
    before = load(built)
    article = docs / ARTICLE.name
    article.write_text(article.read_text("utf-8") + "\nSakura Quantum Works opened a photonics foundry in Sendai.\n",
                       "utf-8")
    counting = CountingEmbedder()
    report = _update(docs, built, counting)
    assert report.changed == (ARTICLE.name,) and report.unchanged == (REPORT.name,)
    assert report.embedded_documents == (ARTICLE.name,)
    article_text = article.read_text("utf-8")
    assert counting.texts and all(
        any(word in text for word in ("Sakura", "photonics")) or text in article_text
        for text in counting.texts
    )
    assert 0 < report.embedded_passages <= 2  # the passage that gained the sentence, not the whole file
    after = load(built)
    assert after.version == "v000002"
    report_ids = [p.id for p in before.passages if p.doc_id == "cet-index-2025-japan-report"]
    assert [p.id for p in after.passages if p.doc_id == "cet-index-2025-japan-report"] == report_ids
    hit = after.retriever("hybrid").search("photonics foundry in Sendai", 1)[0]
    assert "Sakura Quantum Works" in hit.passage.text
    # Reused vectors are the stored ones, row for row.
    old = before.vectors.index.reconstruct(before.row(report_ids[3]))
    new = after.vectors.index.reconstruct(after.row(report_ids[3]))
    assert (old == new).all()


def test_removed_file_passages_disappear(built: Path, docs: Path) -> None:
    (docs / REPORT.name).unlink()
    lines: list[str] = []
    report = _update(docs, built, lines=lines)
    assert report.removed == (REPORT.name,) and report.embedded_passages == 0
    assert f"removed {REPORT.name}" in lines
    idx = load(built)
    assert set(idx.documents) == {"technology-policy-of-japan"}
    assert all(p.doc_id == "technology-policy-of-japan" for p in idx.passages)
    assert all("KIOXIA" not in h.passage.text for h in idx.retriever("bm25").search("KIOXIA NAND", 5))


def test_identical_files_are_stored_once(built: Path, docs: Path, tmp_path: Path) -> None:
    copy, original = docs / "copy-of-article.txt", docs / ARTICLE.name
    shutil.copy(original, copy)
    lines: list[str] = []
    report = _update(docs, built, lines=lines)
    # The copy already in the index stays; the new twin is skipped, even though it sorts first.
    assert report.up_to_date and report.documents == 2
    assert report.skipped == ((str(copy), f"identical to {original}"),)
    assert lines == [f"skipped {copy}: identical to {original}"]
    assert report.summary().endswith("; 1 file skipped")
    # In a fresh index the first in path order wins.
    fresh = _update(docs, tmp_path / "fresh" / "index")
    assert fresh.new == ("cet-index-2025-japan-report.txt", "copy-of-article.txt")
    assert fresh.skipped == ((str(original), f"identical to {copy}"),)


def test_chunk_setting_change_rebuilds(docs: Path, tmp_path: Path) -> None:
    (docs / REPORT.name).unlink()  # one document keeps the re-embedding short
    index_dir = tmp_path / "index"
    _update(docs, index_dir)
    lines: list[str] = []
    report = _update(docs, index_dir, lines=lines, chunk_tokens=224)
    assert report.version == "v000002" and report.changed == (ARTICLE.name,)
    assert report.embedded_sentences == 0  # same sentences, same model: their vectors are reused
    assert any(line.startswith("rebuilding: chunk settings changed (160 tokens/0 overlap -> 224/0)")
               for line in lines)
    idx = load(index_dir)
    assert idx.manifest.chunking["chunk_tokens"] == 224
    assert max(p.tokens for p in idx.passages) > 160


def test_old_versions_are_collected_keeping_the_previous_one(built: Path, docs: Path) -> None:
    article = docs / ARTICLE.name
    for n in range(3):
        article.write_text(article.read_text("utf-8") + f"\nEdit number {n} of the article.\n", "utf-8")
        _update(docs, built)
    assert current_version(built) == "v000004"
    assert sorted(os.listdir(versions.versions_dir(built))) == [".lock", "v000003", "v000004"]


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope does not exist"):
        _update(tmp_path / "nope", tmp_path / "index")
    assert not (tmp_path / "index").exists()


def test_bad_files_are_skipped_with_reasons(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(ARTICLE, folder / "good.txt")
    (folder / "empty.txt").write_text("")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (folder / "table.xyz").write_text("a,b\n")
    lines: list[str] = []
    report = _update(folder, tmp_path / "index", lines=lines)
    assert report.documents == 1 and report.new == ("good.txt",)
    reasons = dict(report.skipped)
    assert reasons[str(folder / "table.xyz")] == "unsupported format (.xyz)"
    assert reasons[str(folder / "empty.txt")] == "empty file"
    assert reasons[str(folder / "binary.txt")] == "binary file"
    assert all(f"skipped {path}: {why}" in lines for path, why in report.skipped)


def test_nothing_ingested_keeps_the_previous_index(built: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.md").write_text("   \n")
    with pytest.raises(NothingIngested, match="nothing to index in .*bad: all 1 file skipped"):
        _update(bad, built)
    assert load(built).version == "v000001"


def test_a_plain_copied_index_folder_is_adopted(built: Path, docs: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copied" / "index"
    shutil.copytree(built, copy)  # follows the symlink: a plain folder
    assert load(copy).version == "v000001" and current_version(copy) == "v000001"
    report = _update(docs, copy)
    assert report.up_to_date and copy.is_symlink()


def test_a_foreign_folder_is_not_overwritten(docs: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="a folder that Footnote did not make"):
        _update(docs, foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_update_from_settings_builds_with_every_setting(docs: Path, tmp_path: Path) -> None:
    from footnote.index.build import update_from_settings
    from footnote.settings import Settings

    settings = Settings(index_dir=tmp_path / "index", chunk_tokens=96, chunk_overlap=1, dense_index="hnsw",
                        store="faiss")
    report = update_from_settings([docs], settings, embedder=HashingEmbedder())
    manifest = load(settings.index_dir, embedder=HashingEmbedder()).manifest
    assert report.version == manifest.version == "v000001"
    assert (manifest.chunking["chunk_tokens"], manifest.chunking["overlap"]) == (96, 1)
    assert (manifest.store, manifest.dense["kind"], manifest.dense["requested"]) == ("faiss", "hnsw", "hnsw")
