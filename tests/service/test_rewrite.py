"""Follow-up questions become standalone queries; standalone questions are left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from footnote.service.answering.answerer import Answerer, states_quantity, wants_quantity
from footnote.service.models import AnswerRequest, Turn


@pytest.fixture(scope="module")
def answerer(corpus_index: Path) -> Answerer:
    return Answerer.from_index_dir(corpus_index)


def rewrite(answerer: Answerer, question: str, *turns: tuple[str, str]) -> str:
    history = [Turn(role=role, content=content) for role, content in turns]  # type: ignore[arg-type]
    return answerer.standalone_query(AnswerRequest(question=question, history=history))


@pytest.mark.parametrize(
    ("question", "turns", "expected"),
    [
        ("Who is it partnering with?",
         [("user", "What is Rapidus?"), ("assistant", "“They also support Rapidus.” [1]")],
         "Who is Rapidus partnering with?"),
        ("and its weaknesses?", [("user", "What are Japan's strengths in semiconductors?")],
         "What are Japan's weaknesses in semiconductors?"),
        ("what about quantum?", [("user", "What are Japan's weaknesses in AI?")],
         "What are Japan's weaknesses in quantum?"),
        ("And in quantum?", [("user", "Where does Japan rank in biotech?")], "Where does Japan rank in quantum?"),
        ("How much funding does it target?", [("user", "Tell me about the Space Strategy Fund")],
         "How much funding does Space Strategy Fund target?"),
        ("What is it meant to improve?", [("user", "What is Society 5.0?")], "What is Society 5.0 meant to improve?"),
        ("What does she focus on?",
         [("user", "Who wrote the Japan report?"),
          ("assistant", "“Yuka Fujiwara is a first-year master in public policy student at the Harvard Kennedy "
                        "School.”")],
         "What does Yuka Fujiwara focus on?"),
        # Two follow-ups in a row resolve against the first question.
        ("What about space?", [("user", "How does Japan rank in biotechnology?"), ("user", "and in quantum?")],
         "How does Japan rank in space?"),
    ],
)
def test_follow_ups_are_rewritten(answerer: Answerer, question: str, turns: list[tuple[str, str]],
                                  expected: str) -> None:
    assert rewrite(answerer, question, *turns) == expected


@pytest.mark.parametrize(
    "question",
    ["What does KIOXIA produce?", "What is the population of Osaka?",
     "Which agencies also serve as funding organizations?"],
)
def test_standalone_questions_are_left_alone(answerer: Answerer, question: str) -> None:
    assert rewrite(answerer, question, ("user", "What is Rapidus?"), ("assistant", "A startup.")) == question


def test_and_before_a_whole_question_is_not_a_topic(answerer: Answerer) -> None:
    # "And for that weakness, what ...?" is a question of its own after the "and", not "what about <it>" (which
    # made "What does the report recommend for human capital in for that design weakness ...?"); the thread
    # stays as context.
    turns = [("user", "What does the report recommend for human capital in semiconductors?")]
    assert rewrite(answerer, "And for that design weakness specifically, what should Japan consider?", *turns) == (
        "For that design weakness specifically, what should Japan consider? (recommend, human capital, semiconductors)")


def test_a_noun_pointed_at_is_offered_the_referents_it_names(corpus_index: Path) -> None:
    from footnote.index.load import load
    from footnote.service.answering.rewrite import candidates

    index = load(corpus_index)
    previous = "Which body is responsible for privacy and data governance?"
    answer = "“... with agencies such as the Personal Information Protection Commission overseeing compliance.” [1]"
    options = candidates("What does that commission enable?", previous, answer, index)
    # The question names a topic of its own, so the rule-based rewrite leaves it; the named commission is offered.
    assert options == ["What does that commission enable?",
                       "What does Personal Information Protection Commission enable?"]
    # "that" after a noun is a relative pronoun, not a pointer.
    assert candidates("Which startup is the one that aims at 2nm chips?", previous, answer, index) == [
        "Which startup is the one that aims at 2nm chips?"]


def test_no_history_means_no_rewrite(answerer: Answerer) -> None:
    assert rewrite(answerer, "Who is it partnering with?") == "Who is it partnering with?"


def test_a_bare_follow_up_keeps_the_thread_as_context(answerer: Answerer) -> None:
    assert rewrite(answerer, "Why?", ("user", "Is biotech ranked 3rd?")) == "Why? (biotech ranked 3rd)"


def test_quantity_questions_need_a_quantity() -> None:
    assert wants_quantity("How many satellites did JAXA launch in 2023?")
    assert wants_quantity("In which year did the Moonshot R&D Program start?")
    assert not wants_quantity("Who chairs the CSTI?")
    assert states_quantity("Target: ¥1 trillion support over 10 years")
    assert states_quantity("increased their rocket launch successes by five and eight times")
    assert not states_quantity("Japan established AISI, an organization to study methods for ensuring AI safety.")


def test_follow_up_similarities_go_through_the_query_cache(corpus_index: Path) -> None:
    from footnote.index.load import load
    from tests.index.fakes import CountingEmbedder

    embedder = CountingEmbedder()
    answerer = Answerer(load(corpus_index, embedder=embedder))
    turns = [("user", "What are Japan's weaknesses in AI?")]
    assert rewrite(answerer, "what about quantum?", *turns) == "What are Japan's weaknesses in quantum?"
    assert embedder.calls == [["quantum", "weaknesses", "AI"]]  # one batch
    assert rewrite(answerer, "what about quantum?", *turns) == "What are Japan's weaknesses in quantum?"
    assert len(embedder.calls) == 1  # the second time, every phrase is cached
    assert answerer.index.embed_query("AI") is answerer.index.embed_query("AI")
