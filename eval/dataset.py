"""Expected-answer sets: one JSON object per line, loaded into ``Question`` and checked as they load.

Each line::

    {"id": "turn-rapidus-partner",
     "question": "Who is it partnering with?",
     "history": [{"role": "user", "content": "What is Rapidus?"},
                 {"role": "assistant", "content": "Rapidus is a startup aiming ..."}],   # optional
     "answers": ["IBM"],                  # acceptable answer strings, as they appear in the document
     "evidence": ["Rapidus is partnering with IBM"],   # verbatim clean text that must be retrieved
     "doc": "cet-index-2025-japan-report",             # doc_id holding the evidence (null if none)
     "answerable": true,
     "kind": "followup",                  # optional label for breakdowns
     "group": "cet-index-2025-japan-report"}   # optional: a group's questions share a side of the split

An unanswerable question has ``"answerable": false`` and empty ``answers`` and ``evidence``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from footnote.errors import InputError

DEFAULT_SET = Path(__file__).resolve().parent / "sets" / "default.jsonl"
# 80 more questions on the same two documents, written blind: by people who had never seen the reader's answers
# (docs/evaluation.md). Nothing is fitted on them, so both halves are unseen; the quality guard checks them too.
BLIND_SET = DEFAULT_SET.with_name("blind.jsonl")
# 56 follow-up conversations written the same way, in two batches: the first (ids "fu2-") showed how follow-ups
# failed and the rewrite was fixed on it; the second ("fu3-") was written afterwards and measured once
# (docs/reader.md, Follow-ups).
BLIND_FOLLOWUPS = DEFAULT_SET.with_name("blind-followups.jsonl")
# 450 questions on 30 documents of another kind (Wikipedia abstracts grouped by topic, eval/sets/wiki-topics/),
# split by document and fitted on by neither side; asked with `footnote eval WIKI_SET --corpus WIKI_DOCS`.
WIKI_SET = DEFAULT_SET.with_name("wiki-topics.jsonl")
WIKI_DOCS = DEFAULT_SET.with_name("wiki-topics")
# 80 follow-up conversations on those documents, in two batches of 40: the first ("wtf-") showed the last quote
# winning again and `already_said` was mended on it; the second ("wtg-") was written before the change and
# measured once before and after it (docs/reader.md, Follow-ups).
WIKI_FOLLOWUPS = DEFAULT_SET.with_name("wiki-topics-followups.jsonl")


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]
    evidence: tuple[str, ...]
    doc: str | None
    answerable: bool
    history: tuple[tuple[str, str], ...] = ()
    kind: str = ""
    source: str = field(default="", compare=False)  # the set file it came from
    group: str | None = None  # questions of one group fall on one side of the split (eval/split.py)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "history": [{"role": r, "content": c} for r, c in self.history],
            "answers": list(self.answers),
            "evidence": list(self.evidence),
            "doc": self.doc,
            "answerable": self.answerable,
            "kind": self.kind,
            **({"group": self.group} if self.group else {}),
        }


def _parse(row: Any, where: str, source: str) -> Question:
    if not isinstance(row, dict):
        raise InputError(f"{where}: expected a JSON object")
    missing = [key for key in ("id", "question", "answerable") if key not in row]
    if missing:
        raise InputError(f"{where}: missing {', '.join(missing)}")
    question = row["question"]
    if not isinstance(question, str) or not question.strip():
        raise InputError(f"{where}: the question is empty")
    answers = row.get("answers", [])
    evidence = row.get("evidence", [])
    for name, value in (("answers", answers), ("evidence", evidence)):
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise InputError(f"{where}: {name} must be a list of non-empty strings")
    answerable = row["answerable"]
    if not isinstance(answerable, bool):
        raise InputError(f"{where}: answerable must be true or false")
    if answerable and not (answers or evidence):
        raise InputError(f"{where}: an answerable question needs answers or evidence")
    if not answerable and (answers or evidence):
        raise InputError(f"{where}: an unanswerable question has no answers or evidence")
    history = []
    for turn in row.get("history", []) or []:
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant") or not isinstance(
            turn.get("content"), str
        ):
            raise InputError(f"{where}: history turns are {{\"role\": \"user\"|\"assistant\", \"content\": ...}}")
        history.append((turn["role"], turn["content"]))
    doc = row.get("doc")
    if doc is not None and not isinstance(doc, str):
        raise InputError(f"{where}: doc must be a doc_id string or null")
    group = row.get("group")
    if group is not None and not (isinstance(group, str) and group.strip()):
        raise InputError(f"{where}: group must be a non-empty string")
    return Question(
        id=str(row["id"]),
        question=question,
        answers=tuple(answers),
        evidence=tuple(evidence),
        doc=doc or None,
        answerable=answerable,
        history=tuple(history),
        kind=str(row.get("kind", "")),
        source=source,
        group=group,
    )


def load_set(path: Path) -> list[Question]:
    """Read and check one JSONL set; errors name the file and line."""
    try:
        lines = Path(path).read_text("utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the eval set ({exc.strerror or exc})") from exc
    questions: list[Question] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not JSON ({exc.msg})") from exc
        q = _parse(row, where, str(path))
        if q.id in seen:
            raise InputError(f"{where}: duplicate id {q.id!r}")
        seen.add(q.id)
        questions.append(q)
    if not questions:
        raise InputError(f"{path}: the eval set has no questions")
    return questions


def load_sets(paths: list[Path]) -> list[Question]:
    """Several sets in order; with none, the shipped default set. Ids must be unique across sets."""
    questions: list[Question] = []
    seen: set[str] = set()
    for path in paths or [DEFAULT_SET]:
        for q in load_set(path):
            if q.id in seen:
                raise InputError(f"{path}: id {q.id!r} is already used by an earlier set")
            seen.add(q.id)
            questions.append(q)
    return questions
