"""The verifier parses a DCQL query once per distinct query (``parsed_query``): what it
answers is what ``parse_dcql_query`` answers, a refusal included, every time."""

from __future__ import annotations

import pytest

from passerelle import PasserelleError
from passerelle.dcql import parse_dcql_query
from passerelle.services.verifier.transactions import parsed_query

QUERY = {
    "credentials": [
        {
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["urn:eudi:pid:1"]},
            "claims": [{"path": ["given_name"]}],
        }
    ]
}


def test_a_query_is_parsed_as_the_core_parses_it_and_once() -> None:
    first = parsed_query(QUERY)
    assert first == parse_dcql_query(QUERY)
    # Another object with the same content: the same parsed query, not parsed again.
    assert parsed_query({**QUERY}) is first


def test_queries_that_differ_are_parsed_apart() -> None:
    other = {"credentials": [{**QUERY["credentials"][0], "id": "other"}]}  # type: ignore[dict-item]
    assert parsed_query(other).credentials[0].id == "other"
    assert parsed_query(QUERY).credentials[0].id == "pid"


def test_a_query_that_does_not_parse_is_refused_every_time() -> None:
    broken = {"credentials": [{"id": "pid", "format": "dc+sd-jwt", "claims": "nope"}]}
    for _ in range(2):
        with pytest.raises(PasserelleError) as refused:
            parsed_query(broken)
        with pytest.raises(PasserelleError) as direct:
            parse_dcql_query(broken)
        assert refused.value.reason == direct.value.reason
