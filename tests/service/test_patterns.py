"""Every regular expression that sees a user's text runs in linear time on the largest text a request may hold.

A pattern that backtracks (nested or adjacent unbounded quantifiers over the same characters) holds the
interpreter lock for seconds to hours on a crafted question, and the whole server stops answering. Each
pattern of the modules a request's text passes through is run on adversarial inputs of the maximum size;
a linear pattern takes milliseconds, a quadratic one tens of seconds, so the budget is generous.
"""

from __future__ import annotations

import importlib
import itertools
import re
import time
from pathlib import Path

import pytest

from footnote.service.answering.answerer import Answerer
from footnote.service.models import AnswerRequest, Turn
from footnote.settings import Settings

# The modules a question, a history turn or a chat message passes through before it is answered.
USER_TEXT_MODULES = [
    "footnote.service.answering.rewrite",
    "footnote.service.answering.answerer",
    "footnote.service.answering.features",
    "footnote.service.routes.openai",
    "footnote.index.text",
]
LIMITS = Settings()
# The rewriter joins earlier turns into its running query, so a pattern can see the whole history at once.
MAX_CHARS = max(LIMITS.max_question_chars, LIMITS.max_turn_chars, LIMITS.max_history_chars)
BUDGET_S = 1.0

# Runs of one unit (white space, punctuation, a word that opens a construct) are what make a pattern
# backtrack: each prefix starts a construct the run then almost, but not quite, completes.
UNITS = [" ", ".", "?", "-", "'", "a", "A", "1", "\n", "a ", "Aa ", "a-", "1.", "this ", "how ", "in ", "what about "]
PREFIXES = ["", "what about a", "and "]
TAILS = ["", "x", "\n"]


def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    found = []
    for name in USER_TEXT_MODULES:
        module = importlib.import_module(name)
        found += [(f"{name}.{attr}", value) for attr, value in vars(module).items() if isinstance(value, re.Pattern)]
    return found


def _adversarial(size: int) -> list[str]:
    return [(prefix + unit * size)[: size - len(tail)] + tail
            for unit, prefix, tail in itertools.product(UNITS, PREFIXES, TAILS)]


# Small first: a pattern that backtracks fails there in seconds instead of running for hours at full size.
SIZES = (MAX_CHARS // 16, MAX_CHARS)
INPUTS = [text for size in SIZES for text in _adversarial(size)]


def test_the_patterns_are_found() -> None:
    names = [name for name, _ in _patterns()]
    assert "footnote.service.answering.rewrite._ELLIPSIS" in names and "footnote.index.text._TOKEN" in names


@pytest.mark.parametrize(("name", "pattern"), _patterns(), ids=[name for name, _ in _patterns()])
def test_pattern_is_linear_on_adversarial_input(name: str, pattern: re.Pattern[str]) -> None:
    for text in INPUTS:
        start = time.thread_time()
        pattern.match(text)
        for _ in pattern.finditer(text):
            pass
        took = time.thread_time() - start
        assert took < BUDGET_S, f"{name} took {took:.1f} s on {text[:20]!r}... ({len(text)} characters)"


@pytest.fixture(scope="module")
def answerer(corpus_index: Path) -> Answerer:
    return Answerer.from_index_dir(corpus_index)


def worst_history(size: int) -> list[Turn]:
    """The issue's reproduction, "what about a", spaces, "x", in turns of the largest size, ``size`` in all."""
    turns = [Turn(role="user", content="What is Rapidus?")]
    left = size - len(turns[0].content)
    while left > 13 and len(turns) < LIMITS.max_history_turns:
        n = min(left, LIMITS.max_turn_chars)
        turns.append(Turn(role="user", content="what about a" + " " * (n - 13) + "x"))
        left -= n
    return turns


def test_worst_case_follow_up_is_fast(answerer: Answerer) -> None:
    for size in SIZES:
        history = worst_history(size)
        start = time.thread_time()
        query = answerer.standalone_query(AnswerRequest(question="Who is it partnering with?", history=history))
        assert time.thread_time() - start < BUDGET_S, f"{size} characters"
        assert query.startswith("Who is")


@pytest.mark.parametrize("question", ["and ---?", "and ...", "what about  ?!", "And - what?"])
def test_odd_follow_ups_do_not_crash(answerer: Answerer, question: str) -> None:
    request = AnswerRequest(question=question, history=[Turn(role="user", content="What is Rapidus?")])
    assert answerer.standalone_query(request)
