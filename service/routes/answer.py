"""POST /answer: a question (and the conversation so far) in, quoted and footnoted answer out."""

from __future__ import annotations

from fastapi import APIRouter

from footnote.service.deps import AnswererDep, ApiKey, SettingsDep
from footnote.service.errors import ERROR_RESPONSES
from footnote.service.limits import check_history, check_limits
from footnote.service.models import Answer, AnswerRequest

router = APIRouter(tags=["answers"], dependencies=[ApiKey])


@router.post("/answer", response_model=Answer, responses=ERROR_RESPONSES)
def answer(request: AnswerRequest, answerer: AnswererDep, settings: SettingsDep) -> Answer:
    """Answer with verbatim quotes, each with a numbered footnote proving where it stands.

    Follow-up questions are rewritten into a standalone query using `history`; the query actually
    searched is returned in `query`. When nothing in the documents answers, `grounded` is false and
    the answer says so instead of quoting something loosely related.
    """
    check_limits(settings, text=(("body", "question"), request.question), k=(("body", "top_k"), request.top_k))
    check_history(settings, request.history)
    return answerer.answer(request)
