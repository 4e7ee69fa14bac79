"""The gate's rule on a synthetic champion/challenger pair, without git: each check can reject on its own.

The "models" are formulas of the row: the true probability of the synthetic label, blurred by a noise column
where a test wants a worse model. So each test knows which check must fail, and switching that check off in
`pipeline/gate.py` turns its reject into a promote here (the end-to-end gate tests need real clones). The
last tests are the required check's: a reject fails it unless the override label is on.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import PipelineError
from pipeline.gate import EXIT, Decision, judge
from pipeline.gate_check import DECISIONS, verdict
from pipeline.github import OVERRIDE_LABEL, set_output
from tests.conftest import synthetic_rows


class Formula:
    """A binary classifier whose probability is the synthetic label's true one, plus `noise` x the `temp` column.

    `where=(column, value)` limits the noise to one slice; `power` bends the probabilities (same ranking, worse
    calibration).
    """

    def __init__(self, inputs: list[str], noise: float = 0.0, where: tuple[str, str] | None = None, power=1.0):
        self.feature_names_in_ = np.asarray(inputs, dtype=object)
        self.threshold, self.noise, self.where, self.power = 0.5, noise, where, power

    def predict_proba(self, x):
        signal = 1.5 * x["precip"] + 0.2 * (x["hour"] - 14) - 1.5  # as synthetic_rows draws the label
        blur = self.noise * x["temp"] * (1 if self.where is None else x[self.where[0]] == self.where[1])
        p = norm.cdf((signal + blur).to_numpy()) ** self.power
        return np.column_stack([1 - p, p])


@pytest.fixture(scope="module")
def gate_params(params):
    """The example's params, slicing by its two categorical slice columns (the synthetic numbers have no bands)."""
    slices = params.evaluate.slices.model_copy(update={"columns": ["carrier", "origin"]})
    return params.model_copy(update={"evaluate": params.evaluate.model_copy(update={"slices": slices})})


@pytest.fixture(scope="module")
def rows(gate_params):
    return synthetic_rows(gate_params, 3000, seed=2)


def decide(params, rows, challenger, champion) -> Decision:
    return judge(
        params=params, rows=rows, challenger=challenger, champion=champion, decision=Decision("reject", "main")
    )


def outcome(decision: Decision) -> dict[str, bool]:
    return {check["check"]: check["passed"] for check in decision.checks}


def test_a_better_challenger_is_promoted(gate_params, rows):
    inputs = gate_params.features.inputs
    decision = decide(gate_params, rows, Formula(inputs), Formula(inputs, noise=1.0))
    assert decision.decision == "promote"
    assert outcome(decision) == {"inputs": True, "roc_auc": True, "slices": True, "calibration": True}
    assert decision.primary["delta"] > gate_params.gate.min_delta


def test_a_challenger_no_better_than_the_champion_is_rejected(gate_params, rows):
    inputs = gate_params.features.inputs
    decision = decide(gate_params, rows, Formula(inputs), Formula(inputs))
    assert decision.decision == "reject"
    assert outcome(decision) == {"inputs": True, "roc_auc": False, "slices": True, "calibration": True}


def test_a_better_challenger_that_loses_on_one_slice_is_rejected(gate_params, rows):
    inputs = gate_params.features.inputs
    challenger = Formula(inputs, noise=1.5, where=("carrier", "a"))
    decision = decide(gate_params, rows, challenger, Formula(inputs, noise=1.0))
    assert decision.decision == "reject"
    assert outcome(decision) == {"inputs": True, "roc_auc": True, "slices": False, "calibration": True}
    assert "the worst slice, carrier=a" in decision.checks[2]["detail"]


def test_a_better_ranking_with_worse_calibration_is_rejected(gate_params, rows):
    inputs = gate_params.features.inputs
    decision = decide(gate_params, rows, Formula(inputs, power=0.25), Formula(inputs, noise=0.5))
    assert decision.decision == "reject"
    assert outcome(decision) == {"inputs": True, "roc_auc": True, "slices": True, "calibration": False}


def test_a_champion_reading_a_column_the_rows_lack_is_rejected_before_scoring(gate_params, rows):
    inputs = gate_params.features.inputs
    decision = decide(gate_params, rows, Formula(inputs), Formula([*inputs, "gone"]))
    assert decision.decision == "reject" and outcome(decision) == {"inputs": False}


@pytest.mark.parametrize(
    ("decision", "override", "passes"),
    [
        ("promote", False, True),
        ("no-champion", False, True),
        ("unchanged", False, True),
        ("reject", False, False),
        ("reject", True, True),
        ("", False, False),  # the gate step did not run: no decision is no pass
    ],
)
def test_the_gate_check_fails_on_a_reject_unless_a_reviewer_accepted_it(decision, override, passes):
    assert verdict(decision, override=override)[0] is passes
    assert set(DECISIONS) == set(EXIT)  # every decision the gate can write is one the check knows


def test_gate_check_exits_non_zero_on_a_reject_and_names_the_label_that_accepts_it(monkeypatch):
    monkeypatch.setenv("GATE_OVERRIDE", "false")  # as ci.yml passes it: contains(labels, ...) is "false"
    refused = CliRunner().invoke(app, ["gate-check", "--decision", "reject"])
    assert refused.exit_code == 1
    assert f"label '{OVERRIDE_LABEL}'" in refused.output and "rejected" in refused.output
    monkeypatch.setenv("GATE_OVERRIDE", "true")
    accepted = CliRunner().invoke(app, ["gate-check", "--decision", "reject"])
    assert accepted.exit_code == 0, accepted.output
    assert f"the label '{OVERRIDE_LABEL}' accepts it deliberately" in accepted.output


def test_the_decision_becomes_a_step_output_only_inside_a_workflow(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    set_output("decision", "reject")  # outside Actions: nothing to write, no error
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    (tmp_path / "output").write_text("earlier=1\n")
    set_output("decision", "reject")
    assert (tmp_path / "output").read_text() == "earlier=1\ndecision=reject\n"
    with pytest.raises(PipelineError, match="one line"):
        set_output("decision", "reject\nx=1")
