"""The OpenAPI schema says exactly what the server does: a seeded schemathesis run against a real server.

Every documented operation gets generated requests, valid and invalid, and each response must have a status
the schema lists for it, its content type and a body that matches its schema, and no 5xx; invalid requests
must be refused and valid ones accepted. Seeded and small, so it runs in about a minute and never varies.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.service.conftest import live_server

EXAMPLES = 25
KEY = "schema-key"


@pytest.fixture(scope="module")
def api_url(corpus_index: Path) -> Iterator[str]:
    # With a key, so the run also checks that every operation the schema marks as secured refuses a missing key.
    with live_server(corpus_index, api_key=KEY) as url:
        yield url


def test_the_server_does_what_its_schema_says(api_url: str) -> None:
    schema = schemathesis.openapi.from_url(f"{api_url}/openapi.json")
    # POST /documents is left out: an accepted upload would change the session's shared index, which every
    # other test reads; tests/service/test_uploads_api.py covers it against an index of its own.
    operations = [op for op in (result.ok() for result in schema.get_all_operations())
                  if op.label != "POST /documents"]
    assert len(operations) >= 9  # answer, search, documents, health, the OpenAI API
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {KEY}"}, timeout=60)

        try:
            check()
        except Exception as exc:  # collect every operation's first failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_the_stateful_phase_follows_the_links_between_operations(tmp_path: Path) -> None:
    """Schemathesis's stateful phase: scenarios that chain operations through the links it infers (an upload's
    job at its ``Location``, a listed document by its id, a delete), on an index of its own, since uploads and
    deletes change it. Every response must be one the schema documents, and no 5xx."""
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    from footnote.index.build import update_index
    from tests.service.upload_helpers import small_corpus

    update_index([small_corpus(tmp_path / "corpus")], tmp_path / "index", echo=lambda line: None)
    with live_server(tmp_path / "index", api_key=KEY, max_upload_mb=1) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        machine = schema.as_state_machine()

        class Scenarios(machine):  # type: ignore[valid-type, misc]
            def get_call_kwargs(self, case: Any) -> dict[str, object]:
                return {"headers": {"Authorization": f"Bearer {KEY}"}, "timeout": 60}

            def validate_response(self, response: object, case: Any,
                                  additional_checks: object = None, **kwargs: object) -> None:
                # The schema cannot say which file extensions ingest reads: a "valid" upload of a .gif is 415,
                # which the schema lists; every other check still runs on it.
                excluded = [positive_data_acceptance] if case.operation.label == "POST /documents" else []
                case.validate_response(response, excluded_checks=excluded, transport_kwargs=kwargs or None)

        Scenarios.run(settings=settings(max_examples=EXAMPLES, stateful_step_count=4, derandomize=True,
                                        deadline=None, database=None, suppress_health_check=list(HealthCheck)))
