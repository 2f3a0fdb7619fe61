"""Embedding on Ray builds the same index as the single-process path (one local Ray for the module)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from footnote.errors import InputError
from footnote.index.load import load
from footnote.index.ray_embed import check_address, embed_with_ray
from tests.conftest import CORPUS

# Ray Data's own DataContext warns about its deprecated fields on every dataset; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=256 * 1024**2,
             runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                                       "TOKENIZERS_PARALLELISM": "false"}})
    yield
    ray.shutdown()


def test_ray_builds_the_same_index(corpus_index: Path, tmp_path: Path) -> None:
    from footnote.index.build import update_index

    lines: list[str] = []
    report = update_index([CORPUS], tmp_path / "index", ray="auto", echo=lines.append)
    assert any(line.startswith("embedding passages: ") and line.endswith("texts on Ray (auto)") for line in lines)
    plain, on_ray = load(corpus_index), load(tmp_path / "index")
    assert report.embedded_passages == len(plain.passages)
    assert [p.to_dict() for p in on_ray.passages] == [p.to_dict() for p in plain.passages]
    a = np.load(plain.folder / "passage_vectors.npy")
    b = np.load(on_ray.folder / "passage_vectors.npy")
    assert a.shape == b.shape and float(np.abs(a - b).max()) < 1e-5
    sa, sb = plain.all_sentence_vectors[0], on_ray.all_sentence_vectors[0]
    assert sa.shape == sb.shape and float(np.abs(sa - sb).max()) < 1e-5
    question = "Which company produces cutting-edge NAND memory?"
    assert [h.passage.id for h in on_ray.retriever("hybrid").search(question, 5)] == \
        [h.passage.id for h in plain.retriever("hybrid").search(question, 5)]


def test_order_survives_uneven_batches() -> None:
    from footnote.index.embed import get_embedder

    texts = [f"passage {i}: " + "semiconductor policy " * (i % 7) for i in range(45)]
    vectors = embed_with_ray(texts, address="auto", actors=2, rows_per_batch=8)
    assert float(np.abs(vectors - get_embedder().embed(texts, progress=False)).max()) < 1e-5
    assert embed_with_ray([], address="auto", dim=384).shape == (0, 384)


def test_a_worker_with_other_weights_refuses() -> None:
    with pytest.raises(Exception, match="not the 000000000000… this index uses"):
        embed_with_ray(["one text"], address="auto", expected_sha256="0" * 64)


@pytest.mark.parametrize("address", ["local", "auto", "ray://head:10001", "10.0.0.5:6379"])
def test_addresses(address: str) -> None:
    assert check_address(address) == address


def test_a_path_swallowed_by_ray_is_named() -> None:
    with pytest.raises(InputError, match=r"^FOOTNOTE_RAY_ADDRESS: 'docs/' is not a Ray address"):
        check_address("docs/")


def test_the_cli_refuses_it_before_doing_anything(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from footnote.cli import main

    result = CliRunner().invoke(main, ["ingest", str(CORPUS), "--ray", "docs/", "--index", str(tmp_path / "ix")])
    assert result.exit_code == 2
    assert "Invalid value for '--ray': 'docs/' is not a Ray address" in result.output
    assert not (tmp_path / "ix").exists()


def test_an_address_from_the_environment_is_named_as_such(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from footnote.cli import main

    monkeypatch.setenv("FOOTNOTE_RAY_ADDRESS", "docs/")
    result = CliRunner().invoke(main, ["ingest", str(CORPUS), "--index", str(tmp_path / "ix")])
    assert (result.exit_code, result.output) == (
        2, "error: FOOTNOTE_RAY_ADDRESS: 'docs/' is not a Ray address (local, auto, ray://host:10001 or "
           "host:6379)\n")
    assert not (tmp_path / "ix").exists()
