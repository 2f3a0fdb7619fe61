"""The request limits, from the app's settings: the question's length and top_k (``check_limits``), and the
conversation's size: turns, characters per turn, characters in all.

The rewriter reads every history turn on every request, so an unbounded history is unbounded work per
request. ``POST /answer`` refuses a history over a limit (422); the OpenAI-compatible endpoint refuses a
message over the per-turn limit (400) but keeps the latest turns that fit the others, since chat clients
send the whole conversation every time.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.exceptions import RequestValidationError

from footnote.service.models import Turn
from footnote.settings import Settings

Loc = tuple[str | int, ...]


def _error(loc: Loc, message: str, value: object) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": message, "input": value}])


def check_text(settings: Settings, loc: Loc, text: str) -> None:
    """One turn or chat message: at most FOOTNOTE_MAX_TURN_CHARS characters."""
    if len(text) > settings.max_turn_chars:
        raise _error(loc, f"is {len(text):,} characters, over the limit of {settings.max_turn_chars:,} "
                          "(FOOTNOTE_MAX_TURN_CHARS)", text[:100])


def check_history(settings: Settings, history: Sequence[Turn], loc: Loc = ("body", "history")) -> None:
    """Refuse a history over FOOTNOTE_MAX_HISTORY_TURNS turns, _MAX_TURN_CHARS per turn or _MAX_HISTORY_CHARS."""
    if len(history) > settings.max_history_turns:
        raise _error(loc, f"has {len(history)} turns, over the limit of {settings.max_history_turns} "
                          "(FOOTNOTE_MAX_HISTORY_TURNS)", len(history))
    for i, turn in enumerate(history):
        check_text(settings, (*loc, i, "content"), turn.content)
    total = sum(len(turn.content) for turn in history)
    if total > settings.max_history_chars:
        raise _error(loc, f"is {total:,} characters in all, over the limit of {settings.max_history_chars:,} "
                          "(FOOTNOTE_MAX_HISTORY_CHARS)", total)


def latest_that_fit(settings: Settings, history: Sequence[Turn]) -> list[Turn]:
    """The most recent turns within the turn and character limits (older ones are dropped)."""
    kept: list[Turn] = []
    total = 0
    for turn in reversed(history):
        if len(kept) == settings.max_history_turns or total + len(turn.content) > settings.max_history_chars:
            break
        kept.append(turn)
        total += len(turn.content)
    return kept[::-1]


def check_limits(settings: Settings, *, text: tuple[Loc, str] | None = None,
                 k: tuple[Loc, int] | None = None) -> None:
    """The app's own request limits: ``text`` at most FOOTNOTE_MAX_QUESTION_CHARS characters, ``k`` at most
    FOOTNOTE_MAX_TOP_K; each given as (location, value). Refused like the models' own checks (422)."""
    errors: list[dict[str, object]] = []
    if text is not None and len(text[1]) > settings.max_question_chars:
        errors.append({"type": "string_too_long", "loc": text[0], "input": text[1],
                       "msg": f"String should have at most {settings.max_question_chars} characters",
                       "ctx": {"max_length": settings.max_question_chars}})
    if k is not None and k[1] > settings.max_top_k:
        errors.append({"type": "less_than_equal", "loc": k[0], "input": k[1],
                       "msg": f"Input should be less than or equal to {settings.max_top_k}",
                       "ctx": {"le": settings.max_top_k}})
    if errors:
        raise RequestValidationError(errors)
