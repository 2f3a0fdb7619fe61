"""The shipped expected-answer set: its size and shape, and every snippet verbatim in the documents."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from footnote.errors import InputError
from footnote.eval.dataset import BLIND_FOLLOWUPS, BLIND_SET, DEFAULT_SET, WIKI_FOLLOWUPS, load_set, load_sets
from footnote.eval.split import pick, side
from tests.conftest import ARTICLE, REPORT

DOCS = {"cet-index-2025-japan-report": REPORT, "technology-policy-of-japan": ARTICLE}
WIKI_SET = DEFAULT_SET.with_name("wiki-topics.jsonl")
WIKI_DOCS = DEFAULT_SET.with_name("wiki-topics")
SUPERSCRIPTS = re.compile("[¹²³⁴⁵⁶⁷⁸⁹⁰]")


def _raw_clean(path: Path) -> str:
    """The raw file as the clean text would read: no ``**``, no superscript markers, white space collapsed."""
    text = SUPERSCRIPTS.sub("", path.read_text("utf-8").replace("**", ""))
    return " ".join(text.split())


def test_set_size_and_shape() -> None:
    questions = load_set(DEFAULT_SET)
    assert len(questions) >= 60
    assert sum(1 for q in questions if q.history) >= 10
    unanswerable = [q for q in questions if not q.answerable]
    assert len(unanswerable) >= 8
    assert all(q.answers == () and q.evidence == () for q in unanswerable)
    assert all(q.answers and q.evidence and q.doc in DOCS for q in questions if q.answerable)
    assert {q.kind for q in questions} == {"factual", "paraphrase", "source", "followup", "unanswerable"}
    assert sum(1 for q in questions if q.kind == "source") >= 8
    assert len({q.id for q in questions}) == len(questions)


def test_blind_set_size_and_shape() -> None:
    questions = load_set(BLIND_SET)
    assert len(questions) == 80
    assert {q.kind for q in questions} == {"factual", "paraphrase", "unanswerable"}
    unanswerable = [q for q in questions if not q.answerable]
    assert len(unanswerable) == 20
    # Near misses about the documents, not questions about another topic: each names what its document is on.
    assert all(q.doc in DOCS and q.answers == () and q.evidence == () for q in unanswerable)
    assert all(q.answers and q.evidence and q.doc in DOCS and not q.history for q in questions if q.answerable)
    assert not {q.id for q in questions} & {q.id for q in load_set(DEFAULT_SET)}
    by_id = {q.id: q for q in questions}
    assert by_id["s2a-tpj-none-csti-chair"].question == "Who chairs the Council for Science, Technology and Innovation?"
    assert by_id["s2r-space-fund-years"].answers == ("10 years",)


def test_blind_followups_size_and_shape() -> None:
    questions = load_set(BLIND_FOLLOWUPS)
    assert len(questions) == 56
    assert {q.kind for q in questions} == {"followup"}
    assert sum(q.id.startswith("fu2") for q in questions) == sum(q.id.startswith("fu3") for q in questions) == 28
    assert sum(not q.answerable for q in questions) == 10
    assert all(len(q.history) in (2, 4) and q.doc in DOCS for q in questions)
    # Earlier answers are the documents' own sentences, and what an answer must add is never among them.
    from footnote import ingest
    from footnote.eval.metrics import locate

    texts = {doc: ingest.parse(path).text for doc, path in DOCS.items()}
    for q in questions:
        for role, content in q.history:
            assert role != "assistant" or locate(content, texts[q.doc]), (q.id, content)
            assert not any(a.casefold() in content.casefold() for a in q.answers), q.id


def test_wiki_topics_set_size_shape_and_split_by_document() -> None:
    from footnote import ingest
    from footnote.eval.metrics import locate

    questions = load_set(WIKI_SET)
    docs = {path.stem: ingest.parse(path) for path in sorted(WIKI_DOCS.glob("*.md"))}
    assert len(docs) == 30 and {d.doc_id for d in docs.values()} == set(docs)
    assert len(questions) == 450
    assert {kind: sum(q.kind == kind for q in questions) for kind in ("factual", "paraphrase", "unanswerable")} == {
        "factual": 240, "paraphrase": 60, "unanswerable": 150}
    assert all(q.doc in docs and q.group == q.doc and not q.history for q in questions)
    assert {doc: sum(q.doc == doc for q in questions) for doc in docs} == dict.fromkeys(docs, 15)
    for q in questions:
        for snippet in q.evidence:
            assert locate(snippet, docs[q.doc].text), (q.id, snippet)
        assert all(any(a.casefold() in e.casefold() for e in q.evidence) for a in q.answers), q.id
    # A document's questions share one side of the split: 13 documents may be fitted on, 17 are held out.
    held = pick(questions, "heldout")
    assert len(held) == 255 and {side(q.doc or "") for q in held} == {"heldout"}
    assert len({q.doc for q in held}) == 17
    by_id = {q.id: q for q in questions}
    assert by_id["wt-german-actors-01"].answers == ("summer of 2007", "2007")


def test_wiki_topics_followups_size_and_shape() -> None:
    from footnote import ingest
    from footnote.eval.metrics import locate

    questions = load_set(WIKI_FOLLOWUPS)
    assert len(questions) == 80
    assert sum(q.id.startswith("wtf-") for q in questions) == sum(q.id.startswith("wtg-") for q in questions) == 40
    assert sum(not q.answerable for q in questions) == 16
    assert {q.kind for q in questions} == {"followup"}
    assert all(len(q.history) in (2, 4) and q.group == q.doc for q in questions)
    texts = {doc: ingest.parse(WIKI_DOCS / f"{doc}.md").text for doc in {q.doc or "" for q in questions}}
    for q in questions:
        for role, content in q.history:
            assert role != "assistant" or locate(content, texts[q.doc or ""]), (q.id, content)
            assert not any(a.casefold() in content.casefold() for a in q.answers), q.id
        for snippet in q.evidence:
            assert locate(snippet, texts[q.doc or ""]), (q.id, snippet)
    by_id = {q.id: q for q in questions}
    assert by_id["wtf-texas-01"].question == "Who was his father?"
    assert by_id["wtf-texas-01"].answers == ("George Taylor Jester",)


def test_followups_need_their_history() -> None:
    by_id = {q.id: q for q in load_set(DEFAULT_SET)}
    q = by_id["turn-rapidus-partner"]
    assert q.question == "Who is it partnering with?"
    assert q.history[0] == ("user", "What is Rapidus?")
    assert q.answers == ("IBM",)


def test_evidence_is_verbatim_in_the_raw_documents() -> None:
    texts = {doc: _raw_clean(path) for doc, path in DOCS.items()}
    for q in load_sets([DEFAULT_SET, BLIND_SET, BLIND_FOLLOWUPS]):
        for snippet in q.evidence:
            assert "**" not in snippet and not SUPERSCRIPTS.search(snippet), q.id
            assert " ".join(snippet.split()) in texts[q.doc], (q.id, snippet)
        for answer in q.answers:
            # Answers come from the body or, for questions about sources, from the footnote text.
            assert answer.casefold() in texts[q.doc].casefold(), (q.id, answer)


def test_evidence_is_verbatim_in_the_parsed_documents() -> None:
    from footnote import ingest
    from footnote.eval.metrics import locate

    parsed = {doc: ingest.parse(path) for doc, path in DOCS.items()}
    assert {doc: d.doc_id for doc, d in parsed.items()} == {doc: doc for doc in DOCS}
    for q in load_sets([DEFAULT_SET, BLIND_SET, BLIND_FOLLOWUPS]):
        for snippet in q.evidence:
            assert locate(snippet, parsed[q.doc].text), (q.id, snippet)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not JSON"),
        ('{"id": "a", "question": "q"}', "missing answerable"),
        ('{"id": "a", "question": " ", "answerable": true}', "the question is empty"),
        ('{"id": "a", "question": "q", "answerable": true}', "needs answers or evidence"),
        ('{"id": "a", "question": "q", "answerable": false, "answers": ["x"]}', "has no answers or evidence"),
        ('{"id": "a", "question": "q", "answerable": true, "answers": [1]}', "answers must be a list"),
        ('{"id": "a", "question": "q", "answerable": false, "history": [{"role": "bot", "content": "x"}]}',
         "history turns"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "ok", "question": "q", "answerable": false}\n' + line + "\n", "utf-8")
    with pytest.raises(InputError, match=re.escape(f"{path}:2: ") + ".*" + re.escape(message)):
        load_set(path)


def test_duplicate_ids_across_sets(tmp_path: Path) -> None:
    row = json.dumps({"id": "same", "question": "q", "answerable": False})
    (tmp_path / "a.jsonl").write_text(row + "\n", "utf-8")
    (tmp_path / "b.jsonl").write_text(row + "\n", "utf-8")
    with pytest.raises(InputError, match="already used by an earlier set"):
        load_sets([tmp_path / "a.jsonl", tmp_path / "b.jsonl"])
    assert [q.id for q in load_sets([tmp_path / "a.jsonl"])] == ["same"]
    assert len(load_sets([])) == len(load_set(DEFAULT_SET))
