"""SQuAD v2.0 JSON as an eval set: each article becomes a document, each question an expected answer.

The articles are written as plain-text files (title line, one paragraph a line) into a temporary folder and
indexed through the normal ``update_index``, so they are ingested exactly as a user's files would be.
``is_impossible`` questions expect an abstention; answers are matched with SQuAD's normalisation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from footnote.errors import InputError
from footnote.eval.dataset import Question
from footnote.eval.loop import evaluate_index, index_folder
from footnote.index.hybrid import fusion_from_settings
from footnote.service.answering.answerer import AnswerSettings

if TYPE_CHECKING:
    from footnote.settings import Settings

_SLUG = re.compile(r"[^a-z0-9]+")
_SENTENCE_END = re.compile(r"[.!?](?=\s)")


def _slug(title: str) -> str:
    return _SLUG.sub("-", title.lower()).strip("-") or "article"


def _evidence(context: str, start: int, end: int) -> str:
    """The sentence(s) around an answer span: the passage that holds it is the relevant one."""
    before = [m.end() for m in _SENTENCE_END.finditer(context, 0, start)]
    lo = before[-1] if before else 0
    after = _SENTENCE_END.search(context, end)
    hi = after.end() if after else len(context)
    return context[lo:hi].strip()


def read_squad(path: Path) -> tuple[dict[str, str], list[Question]]:
    """(``{file name: document text}``, questions) of a SQuAD v2.0 file; errors name the file."""
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable SQuAD JSON file ({exc.__class__.__name__})") from exc
    articles = data.get("data") if isinstance(data, dict) else None
    if not isinstance(articles, list) or not articles:
        raise InputError(f"{path}: not SQuAD v2.0 JSON (expected {{\"version\": ..., \"data\": [articles]}})")
    files: dict[str, str] = {}
    questions: list[Question] = []
    seen: set[str] = set()
    for n, article in enumerate(articles, 1):
        where = f"{path}: article {n}"
        try:
            title = str(article.get("title") or f"Article {n}").replace("_", " ").strip()
            paragraphs = article["paragraphs"]
            contexts = [" ".join(str(p["context"]).split()) for p in paragraphs]
        except (AttributeError, KeyError, TypeError) as exc:
            raise InputError(f"{where}: needs a list of paragraphs with a context") from exc
        name = _slug(title)
        while f"{name}.txt" in files:
            name += "-x"
        files[f"{name}.txt"] = title + "\n" + "\n".join(contexts) + "\n"
        for paragraph, context in zip(paragraphs, contexts, strict=True):
            raw = " ".join(str(paragraph["context"]).split()) == str(paragraph["context"])
            for qa in paragraph.get("qas", []):
                q = _question(qa, context, raw, name, where)
                if q.id in seen:
                    raise InputError(f"{where}: duplicate question id {q.id!r}")
                seen.add(q.id)
                questions.append(q)
    if not questions:
        raise InputError(f"{path}: the SQuAD file has no questions")
    return files, questions


def _question(qa: Any, context: str, raw: bool, doc: str, where: str) -> Question:
    if not isinstance(qa, dict) or not isinstance(qa.get("question"), str) or "id" not in qa:
        raise InputError(f"{where}: every question needs an id and a question")
    impossible = bool(qa.get("is_impossible", False))
    answers: list[str] = []
    evidence: list[str] = []
    if not impossible:
        for gold in qa.get("answers", []):
            text = " ".join(str(gold.get("text", "")).split())
            if not text:
                continue
            answers.append(text)
            start = gold.get("answer_start")
            if raw and isinstance(start, int) and context[start : start + len(text)] == text:
                evidence.append(_evidence(context, start, start + len(text)))
        if not answers:
            raise InputError(f"{where}: question {qa['id']!r} is answerable but has no answer text")
    return Question(
        id=str(qa["id"]), question=qa["question"].strip() or "?", answers=tuple(dict.fromkeys(answers)),
        evidence=tuple(dict.fromkeys(evidence)), doc=None if impossible else doc, answerable=not impossible,
        kind="unanswerable" if impossible else "squad", source=str(where),
    )


def squad_index(files: dict[str, str], workdir: Path, settings: Settings) -> Path:
    """Write the articles under ``workdir/docs`` and index them into ``workdir/index``; returns the index dir."""
    docs = workdir / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (docs / name).write_text(text, "utf-8")
    return index_folder(docs, workdir / "index", settings)


def run_squad(path: Path, modes: Sequence[str], settings: Settings, workdir: Path | None = None) -> dict[str, Any]:
    """Index the SQuAD file's articles in a temporary folder (or ``workdir``) and evaluate its questions."""
    import tempfile

    from footnote.index.load import load

    files, questions = read_squad(path)
    with tempfile.TemporaryDirectory(prefix="footnote-squad-") as tmp:
        index = load(squad_index(files, workdir or Path(tmp), settings), model_path=settings.model_path,
                     fusion=fusion_from_settings(settings))
        config = {"sets": [str(path)], "format": "squad2", "documents": sorted(files)}
        return evaluate_index(index, questions, modes=modes, config=config, matching="squad",
                              fusion=fusion_from_settings(settings),
                              answer_settings=AnswerSettings.from_settings(settings))
