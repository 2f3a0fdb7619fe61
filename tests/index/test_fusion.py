"""Hybrid fusion fitted to the corpus at ingest: weights, evidence, determinism, pinning."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from footnote.index.build import update_index
from footnote.index.fit import MAX_HELD, SAMPLE, _pseudo_queries, fit_fusion, needs_refit, reembed_budget
from footnote.index.hybrid import FusionParams, fuse, fusion_from_settings, pinned
from footnote.index.load import load

# Georgian letters: all-MiniLM-L6-v2's English word pieces turn them into [UNK]s, so its vectors say nothing.
LETTERS = "აბგდევზთიკლმნოპჟრსტუფქღყშჩცძწჭხჯჰ"


def _unreadable_corpus(folder: Path) -> Path:
    """14 documents of made-up Georgian-script words; each document has its own topic words, so BM25 can
    tell them apart and an [UNK]-reading model cannot."""
    rng = random.Random(7)

    def word() -> str:
        return "".join(rng.choice(LETTERS) for _ in range(rng.randint(2, 4)))

    common = [word() for _ in range(30)]
    folder.mkdir()
    for d in range(14):
        topic = [word() for _ in range(12)]
        sentences = []
        for _ in range(6):
            words = [rng.choice(topic) if rng.random() < 0.5 else rng.choice(common) for _ in range(5)]
            sentences.append(" ".join(words) + ".")
        # One sentence a paragraph: the script has no capitals to start a sentence after a full stop.
        (folder / f"doc{d:02d}.txt").write_text(f"{word()}\n\n" + "\n\n".join(sentences) + "\n", "utf-8")
    return folder


@pytest.fixture(scope="module")
def unreadable(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("unreadable")
    docs = _unreadable_corpus(root / "docs")
    update_index([docs], root / "index", echo=lambda line: None)
    return docs, root / "index"


def test_a_corpus_the_model_cannot_read_turns_dense_off(unreadable: tuple[Path, Path]) -> None:
    _, index_dir = unreadable
    index = load(index_dir)
    fusion = json.loads((index.folder / "manifest.json").read_text("utf-8"))["fusion"]
    assert index.manifest.fusion is not None and index.manifest.fusion.to_dict() == fusion
    assert fusion["fitted"] is True and fusion["pseudo_queries"] >= 10
    ev = fusion["evidence"]
    assert ev["bm25"]["mrr@10"] > 2 * ev["dense"]["mrr@10"]
    assert fusion["params"]["dense_weight"] == 0.0 and fusion["params"]["bm25_weight"] == 1.0
    hybrid, bm25 = index.retriever("hybrid"), index.retriever("bm25")
    for p in index.passages[:8]:
        query = " ".join(p.text.split()[2:6])
        assert [h.passage.id for h in hybrid.search(query, 5)] == [h.passage.id for h in bm25.search(query, 5)]


def test_an_english_corpus_gets_both_weights(corpus: Any) -> None:
    fusion = json.loads((corpus.folder / "manifest.json").read_text("utf-8"))["fusion"]
    params = fusion["params"]
    assert params["method"] == "convex" and params["dense_weight"] > 0 and params["bm25_weight"] > 0
    assert params["dense_weight"] + params["bm25_weight"] == pytest.approx(1.0)
    assert fusion["method"] == "held-out sentence" and fusion["seed"] == 0
    assert set(fusion["evidence"]) >= {"dense", "bm25", "hybrid", "grid_mrr@10"}
    assert corpus.fusion == FusionParams.from_dict(params)
    assert corpus.retriever("hybrid").params == corpus.fusion  # what search uses is what the manifest says


def test_fitting_is_deterministic(corpus: Any) -> None:
    vectors = np.load(corpus.folder / "passage_vectors.npy")

    def fit(seed: int) -> dict[str, Any]:
        return fit_fusion(corpus.documents, corpus.passages, vectors, corpus.embedder.embed,
                          sentence_vectors=np.asarray(corpus.all_sentence_vectors[0]),
                          sentence_offsets=corpus.all_sentence_vectors[1], seed=seed).to_dict()

    first = fit(0)
    assert json.dumps(first, sort_keys=True) == json.dumps(fit(0), sort_keys=True)
    assert first == corpus.manifest.fusion.to_dict()  # the same fit ingest stored


def test_the_fit_reembeds_a_quarter_of_a_small_corpus_and_holds_out_sentences_only(corpus: Any) -> None:
    fusion = corpus.manifest.fusion
    assert len(corpus.passages) == 39 and reembed_budget(39) == 10  # a quarter, rounded up
    assert fusion.evidence["reembedded_passages"] == 10 and fusion.pseudo_queries == 23

    def words(text: str) -> Counter[str]:
        return Counter(re.findall(r"\w+", text))

    groups = _pseudo_queries(corpus.documents, corpus.passages, 0, SAMPLE)
    assert [len(held) for _, held, _ in groups] == [3, 2, 2, 2, 2, 1, 3, 2, 3, 3]
    for row, held, rest in groups:
        whole = corpus.passages[row]
        assert 1 <= len(held) <= min(MAX_HELD, len(whole.sentences) // 2)  # the passage keeps half at least
        assert len(rest.sentences) == len(whole.sentences) - len(held)
        # The rest is the passage without exactly those sentences: no word more, none fewer.
        assert words(rest.text) + sum((words(sentence) for _, sentence in held), Counter()) == words(whole.text)
    # Where the budget reaches the sample (a large corpus), one sentence from each passage, as before.
    assert all(len(held) == 1 for _, held, _ in _pseudo_queries(corpus.documents, corpus.passages, 0, 10))


def test_a_small_change_keeps_the_fit_a_large_one_refits(unreadable: tuple[Path, Path], tmp_path: Path) -> None:
    docs, _ = unreadable
    copy = tmp_path / "docs"
    copy.mkdir()
    for f in sorted(docs.iterdir()):
        copy.joinpath(f.name).write_text(f.read_text("utf-8"), "utf-8")
    first = update_index([copy], tmp_path / "index", echo=lambda line: None)
    assert first.fusion_refit
    (copy / "doc00.txt").write_text((copy / "doc00.txt").read_text("utf-8") + "\nᲐხალი წინადადება.\n", "utf-8")
    small = update_index([copy], tmp_path / "index", echo=lambda line: None)
    assert not small.fusion_refit and small.fusion is not None
    assert first.fusion is not None and small.fusion.params == first.fusion.params
    assert small.fusion.changed_since_fit == 2
    n = small.passages
    assert needs_refit(small.fusion, n, n // 5) is False and needs_refit(small.fusion, n, n // 5 + 1) is True


def test_pinned_fusion_overrides_the_fitted_one(corpus: Any, corpus_index: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from footnote.cli import main
    from footnote.service.app import create_app
    from footnote.settings import Settings

    assert pinned("auto") is None
    assert pinned("rrf") == FusionParams()
    assert pinned("1,3") == FusionParams(method="convex", dense_weight=0.25, bm25_weight=0.75)
    with pytest.raises(ValueError, match=r"use auto, rrf, or weights dense,bm25 such as 0.3,0.7 \(not '0.5,x'\)"):
        pinned("0.5,x")
    with pytest.raises(ValueError, match=r"weights are two numbers dense,bm25, >= 0 and not both 0 \(not '0,0'\)"):
        pinned("0,0")

    monkeypatch.setenv("FOOTNOTE_FUSION", "0,1")
    index = load(corpus_index, fusion=fusion_from_settings(Settings()))
    assert index.fusion.dense_weight == 0 and index.fusion_status()["source"] == "pinned"
    query = "Japan's position in semiconductors"
    bm25_ids = [h.passage.id for h in corpus.retriever("bm25").search(query, 5)]
    assert [h.passage.id for h in index.retriever("hybrid").search(query, 5)] == bm25_ids
    shown = CliRunner().invoke(main, ["search", query, "--index", str(corpus_index), "-k", "5", "--json"])
    assert [h["id"] for h in json.loads(shown.output)] == bm25_ids

    monkeypatch.setenv("FOOTNOTE_FUSION", "nonsense")
    bad = CliRunner().invoke(main, ["search", query, "--index", str(corpus_index)])
    assert bad.exit_code == 2
    assert bad.output.strip() == \
        "error: FOOTNOTE_FUSION: use auto, rrf, or weights dense,bm25 such as 0.3,0.7 (not 'nonsense')"

    monkeypatch.delenv("FOOTNOTE_FUSION")
    fitted = corpus.manifest.fusion.to_dict()
    with TestClient(create_app(index_dir=corpus_index, settings=Settings())) as c:
        shown_fusion = c.get("/readyz").json()["fusion"]
    assert shown_fusion["source"] == "fitted" and shown_fusion["dense_weight"] == fitted["params"]["dense_weight"]
    assert shown_fusion["fit"]["evidence"]["bm25"] == fitted["evidence"]["bm25"]
    with TestClient(create_app(index_dir=corpus_index, settings=Settings(fusion="rrf"))) as c:
        shown_fusion = c.get("/readyz").json()["fusion"]
    assert shown_fusion["source"] == "pinned" and shown_fusion["method"] == "rrf"


def test_convex_fusion_normalises_each_list() -> None:
    dense = ([3, 1, 2], [0.9, 0.5, 0.1])
    bm25 = ([2, 4], [12.0, 2.0])
    params = FusionParams(method="convex", dense_weight=0.6, bm25_weight=0.4)
    # dense min-max: 3 -> 1.0, 1 -> 0.5, 2 -> 0.0; bm25: 2 -> 1.0, 4 -> 0.0
    assert fuse(dense, bm25, params, 10) == [(3, 0.6), (2, 0.4), (1, pytest.approx(0.3)), (4, 0.0)]
    rrf = fuse(dense, bm25, FusionParams(), 2)
    assert rrf == [(2, pytest.approx(1 / 63 + 1 / 61)), (3, pytest.approx(1 / 61))]
