"""The manifest is one typed object: written in one place, read back equal, extendable with typed sections."""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from footnote.index.build import update_index
from footnote.index.manifest import Manifest, read_manifest
from footnote.settings import Settings


@dataclass(frozen=True)
class Fitted:
    weights: tuple[float, float]
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        return {"weights": list(self.weights), "evidence": self.evidence}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fitted:
        return cls(tuple(data["weights"]), data["evidence"])  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True)
class WithFit(Manifest):
    fitted: Fitted | None = None


def test_written_once_read_back_equal_with_a_typed_section(tmp_path: Path) -> None:
    (tmp_path / "passages.jsonl").write_text("{}\n")
    manifest = WithFit(version="v000001", created="2026-01-01T00:00:00+00:00", model={"dim": 3}, chunking={},
                       bm25={}, counts={"passages": 1}, documents=[], dense={"store": "faiss"},
                       fitted=Fitted((0.4, 0.6), "held-out split, seed 7"))
    written = manifest.write(tmp_path)
    assert written.files == {"passages.jsonl": 3}
    data = json.loads((tmp_path / "manifest.json").read_text())
    assert data["fitted"] == {"weights": [0.4, 0.6], "evidence": "held-out split, seed 7"}
    assert WithFit.from_dict(data) == written
    assert read_manifest(tmp_path).store == "faiss"  # the base reader keeps what it knows


def test_the_builds_defaults_are_the_settings_defaults() -> None:
    defaults = Settings()
    params = inspect.signature(update_index).parameters
    assert (params["chunk_tokens"].default, params["overlap"].default, params["dense_kind"].default,
            params["embed_batch_size"].default) == (defaults.chunk_tokens, defaults.chunk_overlap,
                                                    defaults.dense_index, defaults.embed_batch_size)
