"""Request dependencies run on the event loop: a plain ``def`` one costs a thread-pool hop per request."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from footnote.service.app import create_app


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # a router included in the app
            yield from _routes(route.original_router.routes)


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def test_every_dependency_is_async(tmp_path: Path) -> None:
    app = create_app(index_dir=tmp_path / "no-index")
    routes = list(_routes(app.routes))
    assert {"/answer", "/v1/chat/completions", "/documents"} <= {r.path for r in routes}
    sync = sorted({
        f"{route.path}: {getattr(call, '__name__', type(call).__name__)}"
        for route in routes for call in _calls(route.dependant)
        if not (inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(type(call).__call__))
    })
    assert sync == []
