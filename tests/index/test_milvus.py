"""The Milvus store: same retrieval and same answers as FAISS, incremental updates, shared servers.

Milvus Lite (a ``.db`` file, embedded) stands in for a Milvus deployment; ``milvus-lite server`` stands in
for a Milvus server shared by several processes over http.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from footnote.index.build import update_index
from footnote.index.files import MILVUS_KEYS
from footnote.index.load import Index, load
from footnote.index.manifest import read_manifest
from footnote.index.milvus import MilvusStore
from footnote.index.milvus.connect import client, release
from footnote.index.milvus.keys import read_keys
from footnote.index.milvus.search import MilvusBM25Retriever, MilvusVectors
from footnote.index.vectors import FaissStore
from tests.conftest import CORPUS, ROOT

# (question, a phrase the expected passage's text contains)
QUESTIONS = [
    ("Which company produces cutting-edge NAND memory?", "KIOXIA continues to produce cutting-edge NAND"),
    ("Rapidus partnership with IBM", "Rapidus is partnering with IBM"),
    ("quantum sensing and quantum communication weaknesses", "weaknesses in quantum sensing"),
    ("fast-tracked approval of gene therapy", "fast-tracked approval system"),
    ("Why protect intellectual property rights?", "Strong IP rights incentivize investment"),
    ("what are the controversies around technology policy?", "Controversies surrounding technology policy"),
]
ANSWER_QUESTIONS = [q for q, _ in QUESTIONS] + [
    "What did Japan rank overall?",
    "What do critics of technology policy argue?",
    "How many moons does Neptune have?",
]


def _plain(text: str) -> str:
    return text.replace("**", "")


def _migrate(index_dir: Path, dest: Path, uri: str) -> Path:
    """A copy of an index, moved to Milvus by an ordinary ingest (vectors reused, nothing embedded)."""
    shutil.copytree(index_dir.parent, dest, symlinks=True)
    copy = dest / index_dir.name
    report = update_index([CORPUS], copy, store=MilvusStore(uri))
    assert (report.embedded_passages, report.embedded_sentences) == (0, 0)
    return copy


@pytest.fixture(scope="module")
def lite_dir(corpus_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("milvus-lite")
    return _migrate(corpus_index, base / "copy", str(base / "milvus.db"))


@pytest.fixture(scope="module", params=["faiss", "milvus"])
def index(request: pytest.FixtureRequest, corpus_index: Path, lite_dir: Path) -> Index:
    return load(corpus_index if request.param == "faiss" else lite_dir)


# --- the same retrieval -----------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
@pytest.mark.parametrize(("question", "phrase"), QUESTIONS)
def test_finds_the_passage_in_both_stores(index, mode: str, question: str, phrase: str) -> None:
    hits = index.retriever(mode).search(question, 3)
    assert phrase in _plain(hits[0].passage.text), f"{mode}: {question!r} -> {hits[0].passage.id}"


def test_the_milvus_index_keeps_vectors_in_milvus(lite_dir: Path) -> None:
    idx = load(lite_dir)
    assert isinstance(idx.vectors, MilvusVectors)
    assert not (idx.folder / "dense.faiss").exists()
    assert (idx.folder / MILVUS_KEYS).is_file()
    dense = idx.manifest.dense
    assert (dense["store"], dense["index_type"], dense["lexical"]) == ("milvus", "FLAT", "local")
    assert dense["server"].startswith("milvus_lite")


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_rankings_are_identical(corpus_index: Path, lite_dir: Path, mode: str) -> None:
    faiss_idx, milvus_idx = load(corpus_index), load(lite_dir)
    queries = ANSWER_QUESTIONS + [p.text.split(".")[0] for p in faiss_idx.passages[::2]]
    for q in queries:
        vec = faiss_idx.embed_query(q) if mode != "bm25" else None
        a = faiss_idx.retriever(mode).search(q, 10, query_vector=vec)
        b = milvus_idx.retriever(mode).search(q, 10, query_vector=vec)
        assert [h.passage.id for h in a] == [h.passage.id for h in b], q
        assert np.allclose([h.score for h in a], [h.score for h in b], rtol=1e-5, atol=1e-6), q


def test_answers_are_identical(corpus_index: Path, lite_dir: Path) -> None:
    from footnote.service.answering.answerer import Answerer
    from footnote.service.models import AnswerRequest, Turn

    on_faiss, on_milvus = Answerer(load(corpus_index)), Answerer(load(lite_dir))
    requests = [AnswerRequest(question=q) for q in ANSWER_QUESTIONS]
    requests.append(AnswerRequest(question="And with IBM?", history=[
        Turn(role="user", content="What is Rapidus doing?"), Turn(role="assistant", content="It builds chips.")]))
    grounded = 0
    for request in requests:
        a, b = on_faiss.answer(request), on_milvus.answer(request)
        assert a.answer == b.answer, request.question
        assert [(f.n, f.quote, f.passage_id, f.start, f.end, [c.urls for c in f.citations]) for f in a.footnotes] \
            == [(f.n, f.quote, f.passage_id, f.start, f.end, [c.urls for c in f.citations]) for f in b.footnotes]
        assert [p.passage_id for p in a.passages] == [p.passage_id for p in b.passages]
        grounded += a.grounded
    assert 3 <= grounded < len(requests)  # real answers, and "not found" for Neptune, on both


# --- Milvus's own BM25 ------------------------------------------------------------------------------

def test_milvus_bm25_ranks_and_scores_like_bm25s(corpus, tmp_path: Path) -> None:
    folder = tmp_path / "version"
    shutil.copytree(corpus.folder, folder)
    store = MilvusStore(str(tmp_path / "bm25.db"), lexical="milvus")
    manifest = read_manifest(folder)
    dense = store.write(tmp_path / "index", folder, corpus.passages, np.load(folder / "passage_vectors.npy"),
                        manifest, "auto")
    (folder / "dense.faiss").unlink()
    manifest.replace(dense=dense).write(folder)
    idx = load(folder)
    assert idx.manifest.dense["lexical"] == "milvus"
    bm25 = idx.retriever("bm25")
    assert isinstance(bm25, MilvusBM25Retriever)
    for q in ANSWER_QUESTIONS + [p.text.split(".")[0] for p in corpus.passages] + ["", "the of and"]:
        want, got = corpus.retriever("bm25").search(q, 10), bm25.search(q, 10)
        assert [h.passage.id for h in got] == [h.passage.id for h in want], q
        assert np.allclose([h.score for h in got], [h.score for h in want], rtol=1e-4), q
    assert idx.retriever("hybrid").search(QUESTIONS[1][0], 1)[0].passage.id == \
        corpus.retriever("hybrid").search(QUESTIONS[1][0], 1)[0].passage.id


# --- incremental updates and deletes ----------------------------------------------------------------

DOCS = {
    "alpha.md": "# Alpha\n\nThe alpha reactor runs on molten salt. It was commissioned in Osaka in 2019.\n",
    "beta.md": "# Beta\n\nThe beta telescope maps radio bursts. Its dish is sixty metres wide.\n",
    "gamma.md": "# Gamma\n\nThe gamma vaccine trial enrolled nine hundred volunteers in Sapporo.\n",
}


def _write(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def _count(uri: str, collection: str) -> int:
    rows = client(uri).query(collection, filter="", output_fields=["count(*)"])
    return int(rows[0]["count(*)"])



def test_update_and_delete_on_milvus(tmp_path: Path) -> None:
    docs, ix, uri = tmp_path / "docs", tmp_path / "index", str(tmp_path / "milvus.db")
    _write(docs, DOCS)
    first = update_index([docs], ix, store=MilvusStore(uri))
    v1 = load(ix)
    k1, collection = _keys_of(v1), v1.manifest.dense["collection"]
    assert _count(uri, collection) == first.passages == len(v1.passages)
    assert v1.retriever("dense").search("vaccine trial volunteers", 1)[0].passage.doc_id == "gamma"

    # Change beta, delete gamma: only beta is embedded again; the store keeps the option flag-free.
    (docs / "beta.md").write_text("# Beta\n\nThe beta telescope was moved to Chile in 2024.\n", encoding="utf-8")
    (docs / "gamma.md").unlink()
    second = update_index([docs], ix)
    assert (second.changed, second.removed, second.embedded_documents) == (("beta.md",), ("gamma.md",), ("beta.md",))
    v2 = load(ix)
    k2 = _keys_of(v2)
    assert v2.manifest.dense["store"] == "milvus"
    for mode in ("hybrid", "dense", "bm25"):
        hits = v2.retriever(mode).search("gamma vaccine trial volunteers Sapporo", 5)
        assert "gamma" not in {h.passage.doc_id for h in hits}, mode
        assert "Chile" in v2.retriever(mode).search("telescope moved to Chile", 1)[0].passage.text, mode
    # The previous version stays whole for readers that still hold it, as its folder stays on disk.
    assert _count(uri, collection) == len(k1 | k2)
    assert v1.retriever("dense").search("vaccine trial volunteers", 1)[0].passage.doc_id == "gamma"
    everything = v1.retriever("dense").search("telescope", len(v1.passages))
    assert sorted(h.passage.id for h in everything) == sorted(p.id for p in v1.passages)

    assert update_index([docs], ix).up_to_date
    (docs / "alpha.md").write_text(DOCS["alpha.md"] + "\nA second alpha reactor is planned.\n", encoding="utf-8")
    update_index([docs], ix)
    k3 = _keys_of(load(ix))
    # v1 left the disk, so its vectors (gamma, the old beta) left Milvus.
    assert _count(uri, collection) == len(k2 | k3)
    gone = k1 - k2 - k3
    assert gone and not client(uri).get(collection, ids=sorted(gone))


def _keys_of(idx: Index) -> set[str]:
    return set(read_keys(idx.folder))


def test_leftovers_of_a_crashed_run_are_reconciled(tmp_path: Path) -> None:
    docs, ix, uri = tmp_path / "docs", tmp_path / "index", str(tmp_path / "milvus.db")
    _write(docs, DOCS)
    update_index([docs], ix, store=MilvusStore(uri))
    idx = load(ix)
    collection = idx.manifest.dense["collection"]
    stray = {"id": "f" * 32, "passage_id": "ghost-0000", "doc_id": "ghost",
             "vector": idx.embed_query("vaccine trial volunteers").tolist()}
    client(uri).insert(collection, [stray])  # what a run killed before publishing leaves
    assert load(ix).retriever("dense").search("vaccine trial volunteers", 1)[0].passage.doc_id == "gamma"
    lines: list[str] = []
    (docs / "beta.md").write_text("# Beta\n\nThe beta telescope is closed.\n", encoding="utf-8")
    update_index([docs], ix, echo=lines.append)
    assert any("reconciling" in line for line in lines)
    assert not client(uri).get(collection, ids=["f" * 32])


def test_switching_stores_both_ways(tmp_path: Path) -> None:
    docs, ix, uri = tmp_path / "docs", tmp_path / "index", str(tmp_path / "milvus.db")
    _write(docs, DOCS)
    update_index([docs], ix)
    assert (load(ix).folder / "dense.faiss").is_file()
    moved = update_index([docs], ix, store=MilvusStore(uri))
    assert not moved.up_to_date and moved.embedded_passages == 0
    collection = load(ix).manifest.dense["collection"]
    assert update_index([docs], ix).up_to_date
    back = update_index([docs], ix, store=FaissStore())
    assert back.embedded_passages == 0 and (load(ix).folder / "dense.faiss").is_file()
    assert collection in client(uri).list_collections()  # the previous version still uses it
    (docs / "beta.md").unlink()
    update_index([docs], ix, store=MilvusStore(uri))  # back again, the FAISS-era version retires
    update_index([docs], ix, store=FaissStore())
    (docs / "alpha.md").unlink()
    update_index([docs], ix, store=MilvusStore(uri))
    # Only the newest collection version is named by a kept version: the store never grows without bound.
    assert client(uri).list_collections() == [collection]


def test_store_errors_are_one_line(lite_dir: Path, tmp_path: Path) -> None:
    from footnote.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["search", "IBM", "--index", str(lite_dir), "--store", "faiss"])
    assert result.exit_code == 2
    assert result.output.strip() == (f"error: --store: the index at {lite_dir} keeps its vectors in milvus, not "
                                     f"faiss; run `footnote ingest` with this setting to move them")
    result = runner.invoke(main, ["ingest", str(CORPUS), "--index", str(tmp_path / "ix"), "--store", "milvus"])
    assert result.exit_code == 2
    assert "error: --milvus-uri: the milvus store needs one: a .db file for Milvus Lite" in result.output
    result = runner.invoke(main, ["ingest", str(CORPUS), "--index", str(tmp_path / "ix"), "--milvus-uri", "x.txt"])
    assert "error: --milvus-uri: x.txt: a local Milvus Lite file must end in .db" in result.output


def test_a_lite_file_belongs_to_one_process(lite_dir: Path) -> None:
    load(lite_dir)  # this process now holds the .db
    result = subprocess.run([sys.executable, "-m", "footnote.cli", "search", "IBM", "--index", str(lite_dir)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 1
    uri = load(lite_dir).manifest.dense["uri"]
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: cannot open Milvus Lite file {uri}: another process has it open (Milvus Lite allows one "
        f"process per .db; stop it, or run `milvus-lite server --data-dir {uri}` and use an http:// URI)")


# --- one Milvus server, several Footnote processes ------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``milvus-lite server`` on a free port: the Milvus protocol over http, as a cluster would speak it."""
    data, port = tmp_path_factory.mktemp("milvus-server") / "data", _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("milvus-lite server did not start") from None
                time.sleep(0.2)
        yield uri
    finally:
        release(uri)
        proc.terminate()
        proc.wait(timeout=30)


def test_processes_share_one_milvus_server(corpus_index: Path, milvus_server: str, tmp_path: Path) -> None:
    shared = _migrate(corpus_index, tmp_path / "copy", milvus_server)
    idx = load(shared)
    assert idx.manifest.dense["uri"] == milvus_server
    assert idx.manifest.dense["lexical"] == "local"  # a Lite server: its BM25 statistics are per segment
    question, phrase = QUESTIONS[0]
    command = [sys.executable, "-m", "footnote.cli", "search", question, "--index", str(shared),
               "--mode", "dense", "-k", "3", "--json"]
    replicas = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
                for _ in range(2)]
    outputs = [p.communicate(timeout=240) for p in replicas]
    for proc, (out, err) in zip(replicas, outputs, strict=True):
        assert proc.returncode == 0, err
        assert phrase in _plain(json.loads(out)[0]["text"])
    assert json.loads(outputs[0][0]) == json.loads(outputs[1][0])
    # --milvus-uri overrides the recorded address (a replica that reaches the server by another name).
    moved = milvus_server.replace("127.0.0.1", "localhost")
    assert load(shared, store=MilvusStore(moved)).vectors.uri == moved  # type: ignore[attr-defined]


def test_ask_and_eval_search_the_store_the_settings_name(lite_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from footnote.cli import main

    monkeypatch.setenv("FOOTNOTE_STORE", "milvus")
    monkeypatch.setenv("FOOTNOTE_MILVUS_URI", load(lite_dir).manifest.dense["uri"])
    result = CliRunner().invoke(main, ["ask", QUESTIONS[0][0], "--index", str(lite_dir), "--json"])
    assert result.exit_code == 0, result.output
    assert QUESTIONS[0][1] in _plain(json.loads(result.stdout)["footnotes"][0]["quote"])
    monkeypatch.setenv("FOOTNOTE_STORE", "faiss")
    monkeypatch.delenv("FOOTNOTE_MILVUS_URI")
    result = CliRunner().invoke(main, ["eval", "--modes", "bm25", "--index", str(lite_dir)])
    assert result.exit_code == 2
    assert result.output == (f"error: FOOTNOTE_STORE: the index at {lite_dir} keeps its vectors in milvus, not "
                             f"faiss; run `footnote ingest` with this setting to move them\n")
