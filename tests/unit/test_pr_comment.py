"""The pull request comment's pieces: diffs grouped with their intervals, honest gaps, escaped text, charts."""

import hashlib
import json

import numpy as np

from pipeline import pr_comment


def test_format_1_and_format_2_metrics_become_one_row_with_the_new_interval():
    keys = {
        "model.roc_auc": {"old": 0.75, "new": None},
        "model.roc_auc.value": {"old": None, "new": 0.76},
        "model.roc_auc.low": {"old": None, "new": 0.75},
        "model.roc_auc.high": {"old": None, "new": 0.77},
    }
    lines = pr_comment.metrics_section({"outputs/metrics/evaluate.json": keys}, "evaluate.json", set())
    assert lines[-1] == "| model.roc\\_auc | 0.75 | 0.76 | +0.01 | – | [0.75, 0.77] |"


def test_other_metrics_files_show_only_what_changed_and_skipped_files_nothing():
    diff = {
        "outputs/metrics/prepare.json": {"rows.test": {"old": 10, "new": 10}, "rows.train": {"old": 5, "new": 7}},
        "outputs/metrics/drift.json": {"share_drifted": {"old": 0.1, "new": 0.9}},
    }
    lines = pr_comment.metrics_section(diff, "evaluate.json", {"drift.json"})
    assert [line for line in lines if line.startswith("| rows")] == ["| rows.train | 5 | 7 | +2 | – | – |"]
    assert not any("share" in line for line in lines)
    assert pr_comment.metrics_section({}, "evaluate.json", set()) == ["No metric changed."]


def test_untrusted_parameter_values_are_escaped_and_mentions_disarmed():
    diff = {"params.yaml": {"train.x": {"old": "a|b", "new": "<img src=x onerror=alert(1)> @octocat\n# h"}}}
    row = pr_comment.params_section(diff)[-1]
    assert row == "| params.yaml | train.x | a\\|b | &lt;img src=x onerror=alert(1)&gt; @\u2060octocat \\# h |"
    assert pr_comment.params_section({}) == ["No parameter changed."]


def test_the_gate_says_when_it_did_not_run_and_lists_its_reasons_when_it_did():
    assert "did not run in this job (no decision file)" in pr_comment.gate_section(None, False)[0]
    assert "the decision file is the base revision's own" in pr_comment.gate_section({"decision": "promote"}, True)[0]
    decision = {
        "decision": "reject",
        "period": "2013-07",
        "champion": {"rev": "0123456789abcdef"},
        "reasons": ["roc_auc fell by 0.02 <b>"],
        "primary": {
            "metric": "roc_auc",
            "champion": 0.75,
            "challenger": 0.73,
            "delta": -0.02,
            "low": -0.03,
            "high": -0.01,
        },
    }
    lines = pr_comment.gate_section(decision, False)
    assert lines[0] == (
        "**Decision: reject** (shadow evaluation on period 2013-07: both models score its labelled rows, which "
        "neither was trained on; champion <code>0123456789ab</code>)"
    )
    assert lines[2] == (
        "The check *Gate* fails on this reject. A reviewer who accepts the model deliberately (a trade-off worth "
        "its cost) adds the label <code>accept-worse-model</code>."
    )
    assert "| roc\\_auc | 0.75 | 0.73 | -0.02 | [-0.03, -0.01] |" in lines
    assert lines[-1] == "- roc\\_auc fell by 0.02 &lt;b&gt;"
    overridden = pr_comment.gate_section(decision, False, override=True)
    assert overridden[2].startswith("**Accepted by a reviewer**: the label <code>accept-worse-model</code>")
    promoted = pr_comment.gate_section(decision | {"decision": "promote"}, False, override=True)
    assert not any("accept-worse-model" in line for line in promoted)  # only a reject needs accepting


def test_the_drift_verdict_names_the_columns_and_the_base_when_it_differs():
    head = {"drifted": True, "current": "2013-07", "reason": "12 of 22", "drifted_columns": ["temp"]}
    lines = pr_comment.drift_section(head, {"drifted": False, "current": "2013-06"})
    assert lines == [
        "Period 2013-07: **the data drifted** (12 of 22).",
        "",
        "Columns that drifted: <code>temp</code>.",
        "",
        "Base: period 2013-06, no drift.",
    ]
    assert pr_comment.drift_section(None, None) == ["No drift report (the drift stage did not run)."]


def test_a_chart_draws_base_and_head_and_tabulates_the_same_points():
    grid = np.array([0.0, 0.5, 1.0])
    lines = pr_comment.chart(
        'ROC"]', x="fpr", y="tpr", grid=grid, base=np.array([0.0, 0.5, 1.0]), head=np.array([0.0, 0.75, 1.0])
    )
    assert lines[3:8] == [
        '    title "ROC"',
        '    x-axis "fpr" ["0", "0.5", "1"]',
        '    y-axis "tpr"',
        "    line [0.0000, 0.5000, 1.0000]",
        "    line [0.0000, 0.7500, 1.0000]",
    ]
    assert lines[-3:] == [
        "| base | 0.000 | 0.500 | 1.000 |",
        "| this PR (tpr) | 0.000 | 0.750 | 1.000 |",
        "| change | +0.000 | +0.250 | +0.000 |",
    ]


def test_a_curve_is_sorted_by_x():
    xs, ys = pr_comment.curve({"pr": [{"r": 1.0, "p": 0.3}, {"r": 0.0, "p": 1.0}]}, "r", "p")
    assert xs.tolist() == [0.0, 1.0] and ys.tolist() == [1.0, 0.3]
    assert pr_comment.curve({"pr": []}, "r", "p") is None


def test_plot_definitions_come_from_dvc_yaml_with_paths_resolved(params):
    from tests.conftest import ROOT

    found = pr_comment.plot_definitions(ROOT / "dvc.yaml", params)
    assert ("ROC", "fpr", params.paths.plots / "roc.json", "tpr") in found
    assert len(found) == 4
    assert all(path.name != "confusion.json" for _, _, path, _ in found)  # a matrix of classes is no curve


def test_multiclass_per_class_metrics_are_plain_rows_between_the_model_and_the_baseline():
    """`dvc metrics diff --json` flattens evaluate.json's `per_class` into `per_class.<class>.<metric>` keys."""
    keys = {
        "model.f1_macro.value": {"old": 0.5, "new": 0.6},
        "model.f1_macro.low": {"old": 0.4, "new": 0.5},
        "model.f1_macro.high": {"old": 0.6, "new": 0.7},
        "per_class.rain.f1": {"old": 0.3, "new": 0.5},
        "per_class.rain.support": {"old": 10, "new": 12},
        "baseline.f1_macro.value": {"old": 0.1, "new": 0.1},
    }
    lines = pr_comment.metrics_section({"evaluate.json": keys}, "evaluate.json", set())
    rows = [line for line in lines if line.startswith("| ") and "---" not in line][1:]
    assert [r.split(" | ")[0] for r in rows] == [
        "| model.f1\\_macro",
        "| per\\_class.rain.f1",
        "| per\\_class.rain.support",
        "| baseline.f1\\_macro",
    ]
    assert rows[0].endswith("| [0.4, 0.6] | [0.5, 0.7] |")
    assert rows[1] == "| per\\_class.rain.f1 | 0.3 | 0.5 | +0.2 | – | – |"


def test_the_models_metrics_come_first_the_baselines_last_and_the_format_key_is_not_a_metric():
    keys = {k: {"old": 1, "new": 1} for k in ["baseline.f1", "format", "rows", "model.f1", "threshold"]}
    lines = pr_comment.metrics_section({"evaluate.json": keys}, "evaluate.json", set())
    assert [line.split(" | ")[0] for line in lines if line.startswith("| ") and "---" not in line][1:] == [
        "| model.f1",
        "| rows",
        "| threshold",
        "| baseline.f1",
    ]


def test_a_features_contribution_is_shown_only_when_it_moved_beyond_its_interval():
    diff = {
        "outputs/metrics/importance.json": {
            "features.hour.value": {"old": 0.13, "new": 0.02},  # moved far outside both intervals
            "features.hour.low": {"old": 0.12, "new": 0.01},
            "features.hour.high": {"old": 0.14, "new": 0.03},
            "features.temp.value": {"old": 0.0010, "new": 0.0012},  # within the noise: not shown
            "features.temp.low": {"old": 0.0001, "new": 0.0002},
            "features.temp.high": {"old": 0.0020, "new": 0.0022},
            "features.wind.value": {"old": None, "new": 0.003},  # a new feature
            "features.wind.low": {"old": None, "new": 0.001},
            "features.wind.high": {"old": None, "new": 0.005},
        }
    }
    text = "\n".join(pr_comment.metrics_section(diff, "evaluate.json", set(), {"importance.json"}))
    assert "features.hour" in text and "features.wind" in text and "features.temp" not in text
    everything = "\n".join(pr_comment.metrics_section(diff, "evaluate.json", set()))
    assert "features.temp" in everything  # without the rule, any change is shown


def test_the_shadow_scoring_of_the_next_batch_is_said_in_words_and_only_for_its_own_model(tmp_path):
    record = {"period": "2013-08", "rows": 28000, "changed": 1234, "share": 0.04407, "mean_score_change": 0.0213}
    assert pr_comment.shadow_sentence(record) == (
        "Shadow scoring of the next batch, 2013-08 (28,000 rows, no outcomes yet): 1,234 decisions (4.4%) would "
        "change; the score moves by 0.0213 on average."
    )
    nothing = {"period": None, "why": "the source has no period after the released ones"}
    assert pr_comment.shadow_sentence(nothing).endswith("not done (the source has no period after the released ones).")
    model, path = tmp_path / "model.skops", tmp_path / "shadow.json"
    model.write_bytes(b"the challenger")
    path.write_text(json.dumps(record | {"challenger": hashlib.md5(b"the challenger").hexdigest()}))
    assert pr_comment.current_shadow(path, model)["changed"] == 1234
    model.write_bytes(b"another model")  # a record committed for an older model is not this pull request's
    assert pr_comment.current_shadow(path, model) is None
    lines = pr_comment.gate_section({"decision": "promote", "reasons": []}, False, shadow=record)
    assert lines[-1].startswith("Shadow scoring of the next batch, 2013-08")
