"""The data tests that guard the features themselves, on the example's configuration (no data needed)."""

from __future__ import annotations

from pipeline.datatests import features_match_contract


def with_numeric(params, *names):
    features = params.features.model_copy(update={"numeric": [*params.features.numeric, *names]})
    return params.model_copy(update={"features": features})


def test_the_examples_features_are_all_allowed(params, contract):
    assert features_match_contract(params, contract) == []


def test_a_feature_the_contract_lists_as_leakage_is_refused(params, contract):
    leak = next(name for name in contract.leakage if name != contract.target.column)
    found = features_match_contract(with_numeric(params, leak), contract)
    assert [(f["column"], f["rule"], f["severity"]) for f in found] == [(leak, "no leakage feature", "failure")]
    assert found[0]["message"] == (
        f"params.yaml: column {leak!r}: is a feature but the contract lists it as known only after the event "
        "(rule: no leakage feature)"
    )


def test_a_feature_no_table_describes_is_refused(params, contract):
    found = features_match_contract(with_numeric(params, "invented"), contract)
    assert [(f["column"], f["rule"], f["severity"]) for f in found] == [("invented", "feature in contract", "failure")]
