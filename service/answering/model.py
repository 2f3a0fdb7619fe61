"""The reader's fitted model: feature rows in, calibrated probabilities out.

Two logistic regressions, fitted by ``footnote train-reader`` and stored in ``reader.json`` as plain numbers
loaded with numpy: one gives each sentence the probability that it answers, the other turns the best
sentence's row into the probability that the documents answer the question at all.

With a neural reader (``cross.py``), the rows gain ``CROSS_FEATURES``: a third logistic regression over the
features alone (``preselect``) picks the ``read`` most likely sentences, the cross-encoder reads each with the
question, and the two regressions above are fitted on the features and its logits together (a stack), so
where the network adds nothing its weight falls.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, cast, get_args

import numpy as np

from footnote.service.answering.cross import Precision
from footnote.service.answering.features import ANSWER_COLUMNS, ANSWER_FEATURES, FEATURES

PARAMS = Path(__file__).resolve().parent / "reader.json"
# The neural reader (features stacked with a fine-tuned cross-encoder), chosen with FOOTNOTE_READER=neural.
NEURAL_PARAMS = PARAMS.parent / "neural" / "reader.json"
READERS = {"features": PARAMS, "neural": NEURAL_PARAMS}
# The cross-encoder's logit for a sentence, whether it read it (only the preselected ones are read), and the
# preselect's own logit: the features' verdict as learnt from the whole train split, which the stack (fitted on
# far fewer questions) weighs against the network's.
CROSS_FEATURES = ("cross", "cross_read", "preselect")
# The logit a sentence the cross-encoder did not read stands at: below what it gives the sentences it reads.
UNREAD_LOGIT = -8.0


# --- the fitted model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Logistic:
    """Standardise, weigh, squash: ``p = sigmoid(((x - mean) / scale) @ coef + intercept)``."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        z = ((rows - self.mean) / self.scale) @ self.coef + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -40, 40))))

    @classmethod
    def zero(cls, n: int) -> Logistic:
        return cls(np.zeros(n), np.ones(n), np.zeros(n), 0.0)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Logistic:
        return cls(np.asarray(data["mean"], dtype=np.float64), np.asarray(data["scale"], dtype=np.float64),
                   np.asarray(data["coef"], dtype=np.float64), float(data["intercept"]))


def logit(prob: float) -> float:
    """A probability as log-odds (clipped away from 0 and 1)."""
    p = min(max(prob, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def question_row(best: np.ndarray, prob: float) -> np.ndarray:
    """The answer-level row: the best sentence's probability as a logit, its ``ANSWER_FEATURES``, and its
    ``CROSS_FEATURES`` when the row has them."""
    extra = best[len(FEATURES):]
    return np.concatenate([[logit(prob)], best[ANSWER_COLUMNS], extra])


@dataclass(frozen=True)
class CrossSpec:
    """Which cross-encoder weights the reader was fitted with, how many sentences it reads, and the precision
    it runs at on ONNX Runtime ("float32" or "int8"; the stack is fitted on float32 logits)."""

    file: Path  # beside the reader's reader.json
    sha256: str
    read: int
    precision: Precision = "float32"

    @classmethod
    def from_dict(cls, data: dict[str, Any], folder: Path) -> CrossSpec:
        precision = str(data.get("precision", "float32"))
        if precision not in get_args(Precision):
            raise ValueError(f"cross-encoder precision {precision!r} is not one of {get_args(Precision)}")
        return cls(file=folder / str(data["file"]), sha256=str(data["sha256"]), read=int(data["read"]),
                   precision=cast(Precision, precision))


@dataclass(frozen=True)
class Model:
    """Two fitted logistic regressions and three thresholds.

    ``sentence`` gives each sentence the probability that it answers (it ranks the quotes and is each
    footnote's confidence); ``answer`` turns the best sentence's row into the probability that the documents
    answer the question at all (the answer's confidence, which the thresholds apply to).
    """

    sentence: Logistic
    answer: Logistic
    abstain_below: float
    confident_from: float
    quote_bar: float
    meta: dict[str, Any]
    preselect: Logistic | None = None  # over FEATURES: which sentences the cross-encoder reads
    cross: CrossSpec | None = None
    # The hits the reader was fitted on, which it must read: "rrf" (the fixed reciprocal-rank fusion, the
    # feature reader's) or "index" (the index's own fusion, fitted at ingest or pinned: the neural reader's).
    fusion: str = "rrf"

    @property
    def columns(self) -> tuple[str, ...]:
        """The names of a row's columns: the features, then the cross-encoder's when there is one."""
        return FEATURES + (CROSS_FEATURES if self.cross is not None else ())

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        return self.sentence(rows)

    def confidence(self, best: np.ndarray, prob: float) -> float:
        return float(self.answer(question_row(best, prob)[None, :])[0])

    @classmethod
    def neutral(cls) -> Model:
        """All weights zero (every probability 0.5): what training reads features with."""
        n = len(FEATURES)
        return cls(Logistic.zero(n), Logistic.zero(len(ANSWER_FEATURES) + 1), 0.5, 0.5, 0.5, {})

    @classmethod
    def from_dict(cls, data: dict[str, Any], folder: Path = PARAMS.parent) -> Model:
        cross = CrossSpec.from_dict(data["cross"], folder) if data.get("cross") else None
        extra = CROSS_FEATURES if cross is not None else ()
        if (tuple(data["features"]) != FEATURES + extra
                or tuple(data["answer"]["inputs"][1:]) != ANSWER_FEATURES + extra):
            raise ValueError("reader.json was fitted on other features: rerun footnote train-reader")
        return cls(
            sentence=Logistic.from_dict(data["sentence"]), answer=Logistic.from_dict(data["answer"]),
            abstain_below=float(data["thresholds"]["abstain_below"]),
            confident_from=float(data["thresholds"]["confident_from"]),
            quote_bar=float(data["thresholds"]["quote_bar"]), meta=dict(data.get("meta", {})),
            preselect=Logistic.from_dict(data["preselect"]) if cross is not None else None, cross=cross,
            fusion=str(data.get("fusion", "rrf")),
        )


@lru_cache(maxsize=4)
def load_model(path: Path = PARAMS) -> Model:
    """The committed reader parameters (plain JSON: no pickle, no scikit-learn at run time)."""
    return Model.from_dict(json.loads(Path(path).read_text("utf-8")), Path(path).parent)
