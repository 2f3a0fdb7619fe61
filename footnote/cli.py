"""The one command-line entry point: ``footnote ingest|search|serve|mcp|ask|eval``.

Heavy modules (torch, FAISS, FastAPI) are imported inside each command so ``footnote --help`` is instant.
Domain errors become one ``error: ...`` line on stderr and a non-zero exit, never a traceback.
Each command builds ``Settings`` once (options override ``FOOTNOTE_*``) and passes plain values down.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from footnote.errors import FootnoteError, InputError, NothingIngested, SettingError

if TYPE_CHECKING:
    from footnote.index.vectors import VectorStore
    from footnote.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

# The command-line option of each setting that has one. An error about a setting names the option where the
# command has it, unless the environment (a FOOTNOTE_ variable) set the value and the command line did not.
OPTIONS = {"index_dir": "--index", "chunk_tokens": "--chunk-tokens", "chunk_overlap": "--overlap",
           "store": "--store", "milvus_uri": "--milvus-uri", "ray_address": "--ray"}
FROM_ENVIRONMENT = "footnote.from_environment"  # the click context's record of the settings the environment set


def _setting_name(exc: SettingError) -> str:
    """How this command's user set (or would set) the setting of ``exc``: its option, else its variable."""
    ctx = click.get_current_context(silent=True)
    option = OPTIONS.get(exc.setting)
    if ctx is None or option is None or exc.setting in ctx.meta.get(FROM_ENVIRONMENT, ()) \
            or not any(option in param.opts for param in ctx.command.params):
        return exc.variable
    return option


def _friendly_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except NothingIngested as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except SettingError as exc:
            click.echo(f"error: {_setting_name(exc)}: {exc.reason}", err=True)
            sys.exit(2)
        except InputError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except FootnoteError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted: nothing was changed", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def _settings(**options: Any) -> Settings:
    """The settings of one command: ``FOOTNOTE_*`` from the environment, overridden by the options given."""
    from pydantic import ValidationError

    from footnote.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "FOOTNOTE_" + "_".join(str(p) for p in first["loc"]).upper()
        raise InputError(f"{name}: {first['msg'].removeprefix('Value error, ')}") from None
    given = {name: value for name, value in options.items() if value is not None}
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[FROM_ENVIRONMENT] = settings.model_fields_set - given.keys()
    return settings.model_copy(update=given) if given else settings


index_option = click.option(
    "--index",
    "index_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Index folder (default: $FOOTNOTE_INDEX_DIR or .footnote/index).",
)


def store_options(func: F) -> F:
    func = click.option("--milvus-uri", default=None, metavar="URI",
                        help="Milvus to use: a .db file (Milvus Lite, one process) or http://host:19530 "
                             "(default: $FOOTNOTE_MILVUS_URI).")(func)
    return click.option("--store", type=click.Choice(["faiss", "milvus"]), default=None,
                        help="Where passage vectors live (default: $FOOTNOTE_STORE, else what the index was "
                             "built with; new indexes: faiss).")(func)


def _store(settings: Settings) -> VectorStore | None:
    """The vector store the settings name (None: the index's own)."""
    from footnote.index.vectors import choose_store

    return choose_store(settings.store, settings.milvus_uri)


def _ray_address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from footnote.index.ray_embed import check_address

    try:
        return None if value is None else check_address(value)
    except SettingError as exc:
        raise click.BadParameter(f"{exc.reason}; to embed on a local Ray instance, put --ray after the paths "
                                 "or write --ray local") from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="footnote")
def main() -> None:
    """Footnote: answers made of verbatim quotes with numbered, verified footnotes."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@index_option
@click.option("--chunk-tokens", type=int, default=None, help="Token budget of one passage.")
@click.option("--overlap", type=int, default=None, help="Sentences repeated between passages (0-3).")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing unless the run fails.")
@store_options
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]",
              callback=_ray_address,
              help="Embed on Ray: alone starts a local instance; or auto, ray://head:10001, head:6379.")
@_friendly_errors
def ingest(
    paths: tuple[Path, ...], index_dir: Path | None, chunk_tokens: int | None, overlap: int | None, quiet: bool,
    store: str | None, milvus_uri: str | None, ray_address: str | None,
) -> None:
    """Turn documents (txt, md, rst, html, pdf, docx, pptx, epub) into passages and build the search index."""
    from footnote.index.build import update_from_settings

    settings = _settings(index_dir=index_dir, chunk_tokens=chunk_tokens, chunk_overlap=overlap, store=store,
                         milvus_uri=milvus_uri, ray_address=ray_address)
    report = update_from_settings(
        list(paths) or [settings.corpus_dir], settings,
        echo=(lambda line: None) if quiet else (lambda line: click.echo(line, err=True)),
        progress=False if quiet else None,  # None: bars only for large inputs
    )
    if not quiet:
        click.echo(report.summary())
        if report.fusion is not None:
            from footnote.index.fit import summary

            fitted = report.fusion_refit and report.fusion.fitted
            how = f" (fitted in {report.fit_seconds:.2f} s)" if fitted else "" if report.up_to_date \
                or report.fusion_refit else " (kept: the corpus changed too little to re-fit)"
            click.echo(summary(report.fusion) + how)
            from footnote.index.hybrid import fusion_from_settings

            pin = fusion_from_settings(settings)
            if pin is not None:
                click.echo(f"fusion pinned by FOOTNOTE_FUSION={settings.fusion}: searches use {pin.describe()}")


@main.command()
@click.argument("query")
@index_option
# The names of index.hits.Mode, spelled out so `footnote --help` needs no numpy.
@click.option("--mode", type=click.Choice(["hybrid", "dense", "bm25"]), default="hybrid", show_default=True)
@click.option("-k", "k", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print hits as JSON.")
@click.option("--rerank", is_flag=True,
              help="Reorder the hits by the reader: each scores as its best sentence's probability of answering.")
@store_options
@_friendly_errors
def search(query: str, index_dir: Path | None, mode: str, k: int, as_json: bool, rerank: bool, store: str | None,
           milvus_uri: str | None) -> None:
    """Show the passages a query retrieves."""
    from footnote.index.hybrid import fusion_from_settings
    from footnote.index.load import load

    settings = _settings(index_dir=index_dir, store=store, milvus_uri=milvus_uri)
    if not query.strip():
        raise InputError("the query is empty: give some words to search for")
    idx = load(settings.index_dir, model_path=settings.model_path, fusion=fusion_from_settings(settings),
               store=_store(settings))
    hits = idx.retriever(mode).search(query, k)
    if rerank:
        from footnote.service.answering.answerer import Answerer, AnswerSettings

        hits = Answerer(idx, AnswerSettings.from_settings(settings)).rerank(query, hits)
    if as_json:
        click.echo(json.dumps([hit.to_dict() for hit in hits], ensure_ascii=False, indent=2))
        return
    for rank, hit in enumerate(hits, 1):
        p = hit.passage
        click.echo(f"{rank:>2}. [{hit.score:.4f}] {p.id}  {p.title} > {' > '.join(p.section)}")
        click.echo(f"    {p.text[:300]}{'...' if len(p.text) > 300 else ''}")


@main.command()
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
@click.option("--keep-alive", "keep_alive_seconds", type=click.IntRange(1, 300), default=None, metavar="SECONDS",
              help="Close an idle keep-alive connection after this long (default 5).")
@click.option("--max-connections", type=click.IntRange(min=1), default=None,
              help="Concurrent connections at most; beyond them a request gets 503 (default 100).")
@click.option("--graceful-shutdown", "graceful_shutdown_seconds", type=click.IntRange(min=0), default=None,
              metavar="SECONDS", help="On shutdown, wait this long for open requests (default 10).")
@click.option("--forwarded-allow-ips", default=None, metavar="IPS",
              help="Proxies whose X-Forwarded-For/-Proto are trusted, comma-separated, * for any "
                   "(default 127.0.0.1,::1).")
@index_option
@store_options
@click.option("--watch/--no-watch", default=None,
              help="Keep the index in sync with the corpus folder: each change is ingested as a sync job "
                   "(default: $FOOTNOTE_WATCH, else off).")
@_friendly_errors
def serve(host: str | None, port: int | None, keep_alive_seconds: int | None, max_connections: int | None,
          graceful_shutdown_seconds: int | None, forwarded_allow_ips: str | None, index_dir: Path | None,
          store: str | None, milvus_uri: str | None, watch: bool | None) -> None:
    """Serve the answer API, the chat page and the OpenAI-compatible endpoint."""
    import uvicorn

    from footnote.service.app import create_app

    settings = _settings(index_dir=index_dir, store=store, milvus_uri=milvus_uri, host=host, port=port,
                         watch=watch, keep_alive_seconds=keep_alive_seconds, max_connections=max_connections,
                         graceful_shutdown_seconds=graceful_shutdown_seconds,
                         forwarded_allow_ips=forwarded_allow_ips)
    _store(settings)  # a bad choice is one line now, not a failing start-up
    # Footnote's own lines (the index version served, the query runtime, failed refreshes) beside uvicorn's.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
    logging.getLogger("footnote").addHandler(handler)
    logging.getLogger("footnote").setLevel(logging.INFO)
    app = create_app(settings=settings)
    uvicorn.run(app, **server_options(settings), log_level="info")


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options from the settings: address, keep-alive, connection limit, shutdown wait, proxies."""
    return {"host": settings.host, "port": settings.port, "timeout_keep_alive": settings.keep_alive_seconds,
            "limit_concurrency": settings.max_connections,
            "timeout_graceful_shutdown": settings.graceful_shutdown_seconds,
            "proxy_headers": True, "forwarded_allow_ips": settings.forwarded_allow_ips}


@main.command()
@index_option
@store_options
@_friendly_errors
def mcp(index_dir: Path | None, store: str | None, milvus_uri: str | None) -> None:
    """Serve the answer tools to an assistant over MCP (stdio): for Claude Desktop, VS Code, any MCP client.

    Stdout carries the protocol only; logs go to stderr. The same tools are at /mcp on `footnote serve`.
    """
    from footnote.service.mcp_server import run_stdio, stderr_logging

    settings = _settings(index_dir=index_dir, store=store, milvus_uri=milvus_uri)
    _store(settings)  # a bad choice is one line now, not a failing start-up
    stderr_logging()
    run_stdio(settings)


@main.command()
@click.argument("question")
@index_option
@click.option("--history", "history_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              default=None, help="JSON file with earlier turns: [{role, content}, ...].")
@click.option("-k", "top_k", type=click.IntRange(1, 50), default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the full answer object as JSON.")
@store_options
@_friendly_errors
def ask(question: str, index_dir: Path | None, history_file: Path | None, top_k: int, as_json: bool,
        store: str | None, milvus_uri: str | None) -> None:
    """Answer a question with quotes and footnotes."""
    from footnote.index.hybrid import fusion_from_settings
    from footnote.index.load import load
    from footnote.service.answering.answerer import Answerer, AnswerSettings
    from footnote.service.models import AnswerRequest, Turn

    settings = _settings(index_dir=index_dir, store=store, milvus_uri=milvus_uri)
    history: list[Turn] = []
    if history_file is not None:
        try:
            history = [Turn.model_validate(t) for t in json.loads(history_file.read_text("utf-8"))]
        except (ValueError, TypeError) as exc:
            raise InputError(f"{history_file}: not a JSON list of {{role, content}} turns ({exc})") from exc
    request = AnswerRequest(question=question, history=history, top_k=top_k)
    index = load(settings.index_dir, model_path=settings.model_path, fusion=fusion_from_settings(settings),
                 store=_store(settings))
    answer = Answerer(index, AnswerSettings.from_settings(settings)).answer(request)
    if as_json:
        click.echo(answer.model_dump_json(indent=2))
        return
    click.echo(answer.to_markdown())


@main.command("eval")
@click.argument("sets", nargs=-1, type=click.Path(path_type=Path, dir_okay=False, exists=True))
@index_option
@click.option("--modes", default="hybrid,dense,bm25", show_default=True, help="Retrieval modes to compare.")
@click.option("--report", "report_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Write report.json and report.html here.")
@click.option("--compare", "compare_to", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              default=None, help="An earlier report.json to compare against.")
@click.option("--beir", "beir_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="Evaluate retrieval on a BEIR-format dataset folder instead.")
@store_options
@click.option("--squad", "squad_file", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="Evaluate a SQuAD v2.0 JSON file: its articles are indexed in a temporary folder.")
@click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="Index this folder of documents in a temporary folder and evaluate the sets against it.")
@_friendly_errors
def eval_(
    sets: tuple[Path, ...],
    index_dir: Path | None,
    modes: str,
    report_dir: Path | None,
    compare_to: Path | None,
    beir_dir: Path | None,
    store: str | None,
    milvus_uri: str | None,
    squad_file: Path | None,
    corpus_dir: Path | None,
) -> None:
    """Measure retrieval and answers against expected-answer sets."""
    from footnote.eval.run import EvalJob, run

    settings = _settings(index_dir=index_dir, store=store, milvus_uri=milvus_uri)
    job = EvalJob(
        index_dir=settings.index_dir,
        sets=sets,
        modes=tuple(m.strip() for m in modes.split(",") if m.strip()),
        beir_dir=beir_dir,
        squad_file=squad_file,
        corpus_dir=corpus_dir,
        report_dir=report_dir,
        compare_to=compare_to,
    )
    run(job, settings, store=_store(settings), echo=click.echo)


@main.command("train-reader")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder to write reader.json (and the cross-encoder's weights) to (default: the packaged ones).")
@click.option("--work", type=click.Path(path_type=Path, file_okay=False), default=Path("bench-results/reader"),
              show_default=True, help="Where the training indexes are built.")
@click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path, file_okay=False, exists=True),
              default=None, help="The shipped corpus (default: $FOOTNOTE_CORPUS_DIR).")
@click.option("--corpus-index", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="An index of that corpus already built with the default passage settings.")
@click.option("--reading-index", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="An index of eval/sets/reading/docs already built with the default passage settings.")
@click.option("--features-only", is_flag=True,
              help="Fit only the logistic regressions over the features, on the shipped set (the earlier reader).")
@click.option("--fraction", type=click.FloatRange(0.01, 1.0), default=1.0, show_default=True,
              help="Train the cross-encoder on this share of the train documents (a learning curve).")
@click.option("--epochs", type=click.FloatRange(0.01, 20.0), default=2.0, show_default=True,
              help="Passes over the cross-encoder's training pairs.")
@click.option("--layers", type=click.IntRange(1, 6), default=6, show_default=True,
              help="How many of the network's top layers to fine-tune (any below stay the base model's).")
@click.option("--limit", type=click.IntRange(1), default=None,
              help="Use only the first N questions of each part: a quick check that the whole run works.")
@click.option("--cross-only", is_flag=True, help="Train only the cross-encoder, then stop.")
@click.option("--cross", "cross_file", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="Reuse a cross-encoder trained earlier (its .json beside it) and fit the stack on it.")
@_friendly_errors
def train_reader(out: Path | None, work: Path, corpus_dir: Path | None, corpus_index: Path | None,
                 reading_index: Path | None, features_only: bool, fraction: float, epochs: float, layers: int,
                 limit: int | None, cross_only: bool, cross_file: Path | None) -> None:
    """Train the reader: a cross-encoder on the reading corpus's train split, and the calibrated stack on top
    of it (seed fixed; the data's sha256 and the time taken are recorded in reader.json)."""
    from footnote.service.answering.model import NEURAL_PARAMS, PARAMS

    settings = _settings()
    corpus = corpus_dir or settings.corpus_dir
    if features_only:
        from footnote.service.answering.train import main as train_features

        train_features(out=(out or PARAMS.parent) / PARAMS.name, work=work, corpus=corpus,
                       corpus_index=corpus_index)
        return
    from footnote.service.answering.train_neural import main as train_neural

    train_neural(out_dir=out or NEURAL_PARAMS.parent, work=work, corpus=corpus, corpus_index=corpus_index,
                 reading_index=reading_index, fraction=fraction, epochs=epochs, limit=limit, cross_file=cross_file,
                 cross_only=cross_only, layers=layers)


if __name__ == "__main__":
    main()
