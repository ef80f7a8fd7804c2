"""Requests made up from the OpenAPI document (schemathesis, on Hypothesis) against a
running `supporter serve`: whatever they hold, no answer is a 500."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from tests.api.server import running_serve

pytestmark = pytest.mark.slow


def test_no_request_made_from_the_schema_makes_the_api_fail(tmp_path: Path) -> None:
    with running_serve(tmp_path) as server:
        schema = schemathesis.openapi.from_url(f"{server.url}/api/v1/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) == 7
        called: set[str] = set()

        @given(case=st.one_of([operation.as_strategy() for operation in operations]))
        @settings(max_examples=300, deadline=None, database=None)
        def no_server_error(case: schemathesis.Case) -> None:
            called.add(case.operation.label)
            case.call_and_validate(
                base_url=f"{server.url}/api/v1",
                headers={"Authorization": f"Bearer {server.token}"},
                checks=[not_a_server_error],
            )

        no_server_error()
        assert len(called) == len(operations)
