"""Run an eval: expected-answer sets against an index, a folder of documents, a SQuAD file or a BEIR dataset.

``run_eval`` (an index folder) and ``run_on_corpus`` (a folder of documents) are the entry points for code;
``run`` is ``footnote eval``'s: it evaluates an ``EvalJob``, prints the table and the guard's verdict, and writes
and compares reports. The loop itself is ``eval.loop``, judging one question ``eval.judge``, the report's
figures ``eval.assemble``, its files ``eval.report``, and the minimums ``eval.thresholds``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from footnote.errors import InputError
from footnote.eval.beir import format_beir, run_beir
from footnote.eval.compare import compare, format_compare
from footnote.eval.dataset import load_sets
from footnote.eval.loop import MODES, evaluate_index, index_folder
from footnote.eval.report import format_table, read_report, write_reports
from footnote.eval.squad import run_squad
from footnote.eval.thresholds import guard_lines
from footnote.index.hits import Mode
from footnote.index.hybrid import fusion_from_settings
from footnote.service.answering.answerer import AnswerSettings

if TYPE_CHECKING:
    from footnote.index.vectors import VectorStore
    from footnote.settings import Settings


@dataclass(frozen=True)
class EvalJob:
    """What one ``footnote eval`` evaluates, and where its output goes.

    The questions of ``sets`` (the shipped set when none) are asked of the first source given: ``beir_dir`` (a
    BEIR dataset and its own queries, retrieval only), ``squad_file`` (a SQuAD v2.0 file's articles and its own
    questions), ``corpus_dir`` (a folder of documents the sets are about), else the index at ``index_dir``.
    Every source but the index is indexed in a temporary folder.
    """

    index_dir: Path
    sets: tuple[Path, ...] = ()
    modes: tuple[str, ...] = MODES
    beir_dir: Path | None = None
    squad_file: Path | None = None
    corpus_dir: Path | None = None
    report_dir: Path | None = None  # report.json and report.html are written here (beir.json for BEIR)
    compare_to: Path | None = None  # an earlier report.json this run is compared with


def run(job: EvalJob, settings: Settings, *, store: VectorStore | None = None,
        echo: Callable[[str], Any] = lambda line: None) -> dict[str, Any]:
    """What ``footnote eval`` does: evaluate ``job`` with ``settings``, print the table, write and compare reports.

    ``store`` is the vector backend the index at ``job.index_dir`` is read with (None: the one it was built with).
    """
    if not job.modes:
        raise InputError("no retrieval modes given: use --modes hybrid,dense,bm25")
    modes = [Mode.parse(m) for m in job.modes]
    if job.beir_dir is not None:
        return _run_beir(job, job.beir_dir, modes, settings, echo)
    old = read_report(job.compare_to) if job.compare_to is not None else None
    report = _evaluate(job, modes, settings, store, echo)
    if old is not None:
        report["compare"] = compare(old, report)
    echo(format_table(report))
    if job.squad_file is None:  # a SQuAD file is a user's own set: no minimums hold for it
        for line in guard_lines(report, job.sets):
            echo(line)
    if old is not None:
        echo(format_compare(report["compare"]))
    if job.report_dir is not None:
        for path in write_reports(report, job.report_dir):
            echo(f"wrote {path}")
    return report


def _run_beir(job: EvalJob, beir_dir: Path, modes: Sequence[str], settings: Settings,
              echo: Callable[[str], Any]) -> dict[str, Any]:
    if job.sets:
        raise InputError("give either eval sets or --beir, not both")
    result = run_beir(beir_dir, modes=modes, chunk_tokens=settings.chunk_tokens, overlap=settings.chunk_overlap,
                      model_path=settings.model_path, echo=echo, fusion=fusion_from_settings(settings))
    echo(format_beir(result))
    if job.report_dir is not None:
        job.report_dir.mkdir(parents=True, exist_ok=True)
        (job.report_dir / "beir.json").write_text(json.dumps(result, indent=2), "utf-8")
        echo(f"wrote {job.report_dir / 'beir.json'}")
    return result


def _evaluate(job: EvalJob, modes: Sequence[str], settings: Settings, store: VectorStore | None,
              echo: Callable[[str], Any]) -> dict[str, Any]:
    """The report of ``job``'s sets on its source other than BEIR."""
    if job.squad_file is not None:
        if job.sets:
            raise InputError("give either eval sets or --squad, not both")
        return run_squad(job.squad_file, modes, settings)
    if job.corpus_dir is not None:
        if not job.sets:
            raise InputError("--corpus needs the eval sets whose questions are about it")
        return run_on_corpus(job.sets, job.corpus_dir, modes, settings=settings, echo=echo)
    return run_eval(job.sets, job.index_dir, modes, model_path=settings.model_path, store=store,
                    fusion=fusion_from_settings(settings), answer_settings=AnswerSettings.from_settings(settings))


def run_eval(sets: Sequence[Path], index_dir: Path, modes: Sequence[str] = MODES, *,
             model_path: str | Path | None = None, store: VectorStore | None = None,
             **kwargs: Any) -> dict[str, Any]:
    """Load the sets (the default set when none) and the index, and evaluate (``evaluate_index``'s options)."""
    from footnote.index.load import load

    questions = load_sets(list(sets))
    index = load(index_dir, model_path=model_path, fusion=kwargs.get("fusion"), store=store)
    config = {"sets": [str(p) for p in sets] or ["(default) eval/sets/default.jsonl"], "index_dir": str(index_dir)}
    return evaluate_index(index, questions, modes=modes, config=config, **kwargs)


def run_on_corpus(sets: Sequence[Path], corpus_dir: Path, modes: Sequence[str], *, settings: Settings,
                  echo: Callable[[str], Any] = lambda line: None) -> dict[str, Any]:
    """Index ``corpus_dir`` in a temporary folder with ``settings`` and evaluate ``sets`` against it."""
    if not corpus_dir.is_dir():
        raise InputError(f"{corpus_dir}: --corpus needs a folder of documents")
    with tempfile.TemporaryDirectory(prefix="footnote-eval-") as tmp:
        echo(f"indexing {corpus_dir} in a temporary folder")
        report = run_eval(sets, index_folder(corpus_dir, Path(tmp) / "index", settings), modes,
                          model_path=settings.model_path, fusion=fusion_from_settings(settings),
                          answer_settings=AnswerSettings.from_settings(settings))
    report["config"]["index_dir"] = f"(temporary, of {corpus_dir})"
    report["config"]["corpus"] = str(corpus_dir)
    return report
