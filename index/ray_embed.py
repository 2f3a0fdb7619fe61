"""Embedding on a Ray cluster with Ray Data (the ``ray_address`` setting: ``footnote ingest --ray [ADDRESS]``).

Texts become a Ray dataset of ``{"i", "text"}`` rows; a fixed pool of actors, each holding one
``Embedder`` (the same verified model as the single-process path), turns batches into vectors; the driver
puts each vector back at row ``i``. The vectors equal the single-process ones to float rounding (batch
padding differs), so the index built is the same.

The address: ``local`` (``--ray`` alone) starts a Ray instance on this machine for the run; ``auto``
joins the cluster this machine belongs to; ``ray://head:10001`` or ``head:6379`` names one. Every worker
node needs the same Footnote install (model wheel included): nothing is downloaded on the workers.
If Ray is already initialised in this process (tests, notebooks), that instance is used and left running.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from footnote.errors import InputError, SettingError

ROWS_PER_BATCH = 256
_WORKER_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


class EmbedBatch:
    """The Ray Data UDF: one per actor, loads the model once, embeds whole batches."""

    def __init__(self, model_path: str | None, expected_sha256: str | None, batch_size: int, threads: int) -> None:
        import torch

        from footnote.index.embed import Embedder

        torch.set_num_threads(max(1, threads))
        self.embedder = Embedder(model_path, batch_size=batch_size)
        if expected_sha256 and self.embedder.sha256 != expected_sha256:
            raise InputError(f"a Ray worker loaded model weights {self.embedder.sha256[:12]}…, not the "
                             f"{expected_sha256[:12]}… this index uses: install the same model on every node")

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.embedder.embed([str(t) for t in batch["text"]], progress=False)
        return {"i": batch["i"], "vector": vectors}


def _connect(address: str) -> bool:
    """Make sure Ray is up; True when this call started it (so the caller shuts it down)."""
    import ray

    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                              "runtime_env": {"env_vars": _WORKER_ENV}, "configure_logging": False}
    try:
        if address == "local":
            ray.init(**kwargs)
        else:
            ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise SettingError("ray_address", f"cannot start or reach Ray at {address!r}: "
                                          f"{str(exc).splitlines()[0]}") from exc
    return True


def embed_with_ray(texts: Sequence[str], *, address: str = "local", model_path: str | Path | None = None,
                   expected_sha256: str | None = None, dim: int | None = None, actors: int | None = None,
                   cpus_per_actor: float = 1, batch_size: int = 64,
                   rows_per_batch: int = ROWS_PER_BATCH) -> np.ndarray:
    """Embed ``texts`` on Ray as an ``(n, dim)`` float32 array of unit vectors, in input order.

    ``actors`` defaults to the cluster's CPUs / ``cpus_per_actor``. ``model_path`` None means the packaged
    model (each worker finds its own copy); ``expected_sha256`` makes every worker check its weights.
    """
    if not texts:
        return np.zeros((0, dim or 0), dtype=np.float32)
    os.environ.update({k: v for k, v in _WORKER_ENV.items() if k not in os.environ})
    import ray
    import ray.data

    # Ray and Ray Data log progress and notices at INFO/WARNING on stderr: ingest prints its own lines.
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)
    started = _connect(address)
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        cpus = float(ray.cluster_resources().get("CPU", 1))
        size = actors or max(1, int(cpus // cpus_per_actor))
        size = min(size, max(1, -(-len(texts) // rows_per_batch)))  # no idle actors loading the model
        ds = ray.data.from_items([{"i": i, "text": t} for i, t in enumerate(texts)])
        out_ds = ds.map_batches(
            EmbedBatch,
            fn_constructor_args=(str(model_path) if model_path is not None else None, expected_sha256,
                                 batch_size, max(1, int(cpus_per_actor))),
            compute=ray.data.ActorPoolStrategy(size=size),
            batch_size=rows_per_batch,
            batch_format="numpy",
            num_cpus=cpus_per_actor,
        )
        out: np.ndarray | None = None
        seen = 0
        for batch in out_ds.iter_batches(batch_size=None, batch_format="numpy"):
            vecs = np.asarray(batch["vector"], dtype=np.float32)
            if out is None:
                out = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
            out[np.asarray(batch["i"], dtype=np.int64)] = vecs
            seen += len(vecs)
        if out is None or seen != len(texts):
            raise RuntimeError(f"Ray returned {seen} vectors for {len(texts)} texts")
        return out
    finally:
        if started:
            ray.shutdown()


def check_address(address: str) -> str:
    """``local``, ``auto``, ``ray://host:port`` or ``host:port`` (the ``ray_address`` setting), else a
    ``SettingError``."""
    if address in ("local", "auto") or address.startswith("ray://") or ":" in address:
        return address
    raise SettingError("ray_address", f"{address!r} is not a Ray address (local, auto, ray://host:10001 or "
                                      f"host:6379)")


def embed_for_index(texts: Sequence[str], address: str, model_folder: Path | None, model_sha256: str,
                    desc: str = "embedding", say: Any = None) -> np.ndarray:
    """What ``update_index`` calls to embed on Ray at ``address`` (checked by ``check_address``): the configured
    model (None: packaged), checked on every worker."""
    from footnote.index.embed import configured_model_path

    folder, is_default = configured_model_path(model_folder)
    if say is not None and texts:
        say(f"{desc}: {len(texts)} texts on Ray ({address})")
    return embed_with_ray(texts, address=address, model_path=None if is_default else folder,
                          expected_sha256=model_sha256)
