"""The typed view of `params.yaml`, the single file of record for every knob.

`load_params` is the only place that reads `params.yaml`: stages receive the frozen `Params` object (or plain
values taken from it) and never open YAML themselves. Unknown keys, missing keys and wrong types fail here,
at load, with the dotted key in the message, instead of as a KeyError three calls deep.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.errors import PipelineError

# The `--params` option every command takes, declared once.
ParamsFile = Annotated[Path, typer.Option("--params", help="The parameters file.")]


class _Section(BaseModel):
    """Base of every section: frozen, and strict about keys so a typo is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Base(_Section):
    """Shared by every stage."""

    seed: int = Field(ge=0, description="The one random seed every stage derives its randomness from.")


class Paths(_Section):
    """Where things live; `dvc.yaml` reads these through `${paths.*}` so each path is written once."""

    data: Path
    contract: Path
    release: Path
    prepared: Path
    model: Path
    metrics: Path
    reports: Path
    plots: Path
    site: Path
    gate: Path
    cost: Path = Field(
        default=Path("outputs/cost"),
        description="Run logs: the latest run's timings and memory (neither DVC outputs nor in git: they vary).",
    )


class SourceTable(_Section):
    """Where one table comes from: a file cut by its `time` column, a whole file, or a folder of period files."""

    path: str = Field(
        description="File or folder, relative to the repository root (or to `source.package`); "
        "a `<path>.dvc` beside it makes it DVC-tracked (`dvc add` or `dvc import-url`)."
    )
    time: str | None = Field(
        default=None,
        description="A file's time column: the file is cut into periods by "
        "it; without it a file is a reference table, copied whole.",
    )


class Source(_Section):
    """The tables `pipeline ingest` releases into data/, and where they are read from."""

    package: str | None = Field(
        default=None,
        description="An installed Python package the paths are inside "
        "(the embedded example); null = paths in the repository.",
    )
    tables: dict[str, SourceTable] = Field(min_length=1, description="Table name -> where it comes from.")


class Ingest(_Section):
    """Where raw data comes from and how it is cut into periods (see pipeline.ingest)."""

    period: Literal["month", "quarter", "year"] = Field(
        description="The length of a period, by which files with a `time` column are cut."
    )
    since: str | None = Field(
        default=None,
        description="The first period ever released (e.g. 2015): earlier rows are never released, for a history "
        "with a hole in it or too old to matter; null = from the source's first period.",
    )
    source: Source


class Join(_Section):
    """A table joined onto every batch row, from `data/<table>/` (one file per period) or `data/<table>.csv`."""

    table: str
    per_period: bool = Field(description="True when the table is released one file per period like the batches.")
    keys: list[str] = Field(min_length=1, description="Columns matched between the rows and the table.")
    columns: dict[str, str] = Field(description="Column of the table -> name it gets in the joined data.")


class Prepare(_Section):
    """How raw batches become model rows: the batch folder, the joins, the calendar features."""

    batches: str = Field(
        description="Folder under data/ holding one CSV file per period (2013-01.csv, 2013-Q1.csv "
        "or 2013.csv); its periods are the ones ingest can release."
    )
    joins: list[Join] = []
    timestamp: str = Field(description="Column with the event time (ISO 8601, UTC).")
    timezone: str = Field(description="Local time zone of the events, for calendar features.")
    time_format: str | None = Field(
        default=None,
        description="How the batch source writes its times (strftime, e.g. '%Y' or '%m/%d/%Y'); null: inferred "
        "from the values. Ingest's cut and `predict` read source times with it, so a batch and a file to score "
        "are read alike (data/ holds ISO 8601 UTC either way).",
    )
    calendar: list[Literal["weekday", "month", "hour", "day"]] = []


class Target(_Section):
    """The column to predict and, for binary tasks, what makes a row positive: a threshold or a value."""

    column: str
    threshold: float | None = Field(
        default=None,
        description="binary: the label is `column > threshold`; regression: unused; "
        "multiclass: not allowed (the classes are the column's values).",
    )
    positive: str | None = Field(
        default=None,
        description="binary, a target stored as text: the value that is the positive class (label 1); every "
        "other value is negative. Instead of `threshold`.",
    )

    @property
    def positive_class(self) -> str:
        """How pages and predictions name the positive class: the value, or the rule of the threshold."""
        return self.positive if self.positive is not None else f"{self.column} > {self.threshold:g}"


# Each task type's primary metric: what the gate decides on by default and what is tracked per period. Here, not
# in pipeline/metrics.py (which computes them), so that pages naming it need not import scikit-learn.
PRIMARY_METRIC = {"binary": "roc_auc", "multiclass": "f1_macro", "regression": "mae"}
# The metrics of each task type where a larger value is better (the others: smaller is better), here for the
# same reason: `pipeline ct` and `pipeline monitor` judge a live model's metric without loading scikit-learn.
HIGHER_IS_BETTER = {
    "binary": frozenset({"roc_auc", "average_precision", "f1", "recall", "precision"}),
    "multiclass": frozenset(
        {"accuracy", "balanced_accuracy", "f1_macro", "precision_macro", "recall_macro", "roc_auc_ovr"}
    ),
    "regression": frozenset({"r2"}),
}


class Task(_Section):
    """What is predicted: the task type decides the label, the metrics, the plots and the gate's rule.

    binary: a numeric target cut at `threshold` (label 1 above it), or a text target whose `positive` value is
    label 1. multiclass: the target's values are the
    classes (text or integers, read as text); two classes work, but binary adds a tuned decision threshold
    and the calibration guard-rail, so prefer it then. regression: the target itself.
    """

    type: Literal["binary", "multiclass", "regression"]
    target: Target

    @property
    def primary_metric(self) -> str:
        """The task type's primary metric (PRIMARY_METRIC)."""
        return PRIMARY_METRIC[self.type]

    def better(self, metric: str) -> int:
        """+1 when a larger value of `metric` is better for this task type, -1 when a smaller one is."""
        return 1 if metric in HIGHER_IS_BETTER[self.type] else -1

    @model_validator(mode="after")
    def _threshold_only_for_binary(self) -> Task:
        rules = (self.target.threshold is not None) + (self.target.positive is not None)
        if self.type == "binary" and rules != 1:
            raise ValueError(
                "a binary task needs exactly one of task.target.threshold (a numeric target: label = "
                "target > threshold) and task.target.positive (a text target: the positive value)"
            )
        if self.type != "binary" and self.target.positive is not None:
            raise ValueError(f"task.target.positive is for binary tasks only, not {self.type}")
        if self.type == "multiclass" and self.target.threshold is not None:
            raise ValueError(
                "task.target.threshold is for binary tasks only: a multiclass label is the "
                "target's own value; remove the threshold"
            )
        return self


class Features(_Section):
    """Which columns the model reads.

    Columns known only after the event are listed in the data contract, and `validate` refuses a feature
    that the contract lists as leakage.
    """

    categorical: list[str]
    numeric: list[str]
    identifiers: list[str] = Field(description="Row identifiers: kept for tracing, never model inputs.")

    @property
    def inputs(self) -> list[str]:
        """The model's input columns, categorical first, in a fixed order."""
        return [*self.categorical, *self.numeric]

    @model_validator(mode="after")
    def _no_forbidden_inputs(self) -> Features:
        inputs = self.inputs
        duplicated = sorted({c for c in inputs if inputs.count(c) > 1})
        if duplicated:
            raise ValueError(f"features list these columns twice: {duplicated}")
        forbidden = sorted(set(inputs) & set(self.identifiers))
        if forbidden:
            raise ValueError(f"features.categorical/numeric name identifier columns: {forbidden}")
        return self


class Window(_Section):
    """Which periods the model learns from; it is evaluated on the newest."""

    reference_periods: int | None = Field(
        default=None, ge=1, description="Periods before the evaluation period to train on; null = all."
    )


class Train(_Section):
    """The estimator family, its hyper-parameters, and how a binary model's decision threshold is chosen."""

    estimator: Literal["hist_gradient_boosting", "linear"]
    hyperparameters: dict[str, float | int | str | bool | None] = {}
    monotonic: dict[str, Literal[-1, 1]] = Field(
        default={},
        description="Numeric feature -> 1 (risk may only rise with it) or -1 (only fall): domain "
        "knowledge the model must respect (hist_gradient_boosting).",
    )
    threshold_objective: str = Field(
        default="f1", description="binary: the scikit-learn scorer the decision threshold maximizes."
    )
    validation_fraction: float = Field(
        default=0.2,
        gt=0,
        lt=1,
        description="binary: the newest share of the reference rows the threshold is chosen on (never the "
        "evaluation period).",
    )
    threads: int = Field(
        default=1,
        ge=1,
        description="The threads a fit may use. The fitted model's bytes depend on this number (OpenMP splits "
        "the work by it), so it is a setting, never the machine's core count.",
    )


class Tune(_Section):
    """The hyper-parameter search `pipeline tune` runs and records (not a stage: it changes nothing by itself)."""

    grid: dict[str, Annotated[list[float | int | str | bool | None], Field(min_length=1)]] = Field(
        default={},
        description="Hyper-parameter of `train.estimator` -> candidate values; every combination is tried, the "
        "other hyper-parameters stay as `train.hyperparameters` sets them. Empty: nothing to tune.",
    )
    folds: int = Field(
        default=3,
        ge=2,
        description="Time-ordered folds: each fits on the older rows and is scored on the block that follows.",
    )


class Bootstrap(_Section):
    """Resampling for confidence intervals (seeded by `base.seed`)."""

    resamples: int = Field(ge=50, description="Bootstrap resamples per interval.")
    confidence: float = Field(gt=0.5, lt=1, description="Confidence level of every interval.")


class Slices(_Section):
    """The groups metrics are broken down by, for the model card and the gate's guard-rails."""

    columns: list[str] = Field(description="Columns of the prepared rows (features) to slice by.")
    bands: dict[str, list[float]] = Field(
        default={}, description="Numeric slice columns cut into bands at these edges (left-closed)."
    )
    min_rows: int = Field(ge=1, description="Groups with fewer rows are marked too small to judge.")

    @model_validator(mode="after")
    def _bands_are_sorted(self) -> Slices:
        for name, edges in self.bands.items():
            if len(edges) < 2 or edges != sorted(edges):
                raise ValueError(f"evaluate.slices.bands.{name}: needs two or more increasing edges")
        return self


class Evaluate(_Section):
    """How the evaluation period is scored."""

    curve_points: int = Field(ge=10, description="Points kept per curve in the plots files.")
    bootstrap: Bootstrap
    slices: Slices
    importance_rows: int = Field(
        default=10_000,
        ge=100,
        description="Rows of the evaluation period (a seeded sample when it has more) on which each feature is "
        "shuffled: the model scores them once per feature, the costliest part of `evaluate`.",
    )
    simpler: str | None = Field(
        default="linear",
        description="An estimator of `train` (default hyper-parameters) scored beside the model on the same rows: "
        "the model must beat it by the paired interval (tests/project/test_model.py); null, or the model's own "
        "estimator: no comparison.",
    )


class Staleness(_Section):
    """The `pipeline staleness` benchmark (not a DVC stage): how fast a model goes stale (see pipeline.staleness)."""

    train_periods: int = Field(
        default=1, ge=1, description="The earliest prepared periods the model is trained on; every later one is scored."
    )


class Gate(_Section):
    """When a challenger replaces the champion (see pipeline.gate for the reasoning)."""

    metric: str | None = Field(default=None, description="The metric that decides; null = the task's primary.")
    min_delta: float = Field(ge=0, description="The challenger must be better by at least this much...")
    margin: float = Field(
        ge=0, description="...and the paired interval's lower bound above -margin (0: strictly better)."
    )
    max_slice_drop: float = Field(ge=0, description="Guard-rail: no judged slice may lose more than this.")
    max_calibration_increase: float = Field(ge=0, description="Guard-rail (binary): ECE may not grow more.")
    min_rows: int = Field(ge=1, description="Fewest labelled rows of the newest period to decide at all.")
    max_slowdown: float = Field(
        default=2.0, gt=0, description="Cost: the challenger may score rows at most this many times slower..."
    )
    max_growth: float = Field(
        default=2.0, gt=0, description="...and its model file may be at most this many times larger."
    )
    cost: Literal["warn", "reject"] = Field(
        default="warn", description="A challenger over either factor: a warning beside the decision, or a reject."
    )


class Monitor(_Section):
    """The live model, watched round after round by continuous training (see pipeline.monitor)."""

    branch: str = Field(
        default="monitoring",
        description="The data branch CT pushes one record per round to (never the default branch).",
    )
    floor: float | None = Field(
        default=None,
        description="Decay: the live model's gate metric on a new period may not be worse than this (null: none)...",
    )
    margin: float = Field(
        default=0.02, ge=0, description="...nor below the lower bound of its interval at promotion by more than this."
    )
    max_age: int = Field(
        default=3, ge=1, description="Stale: more periods released since the live model's evaluation period than this."
    )


class Engine(_Section):
    """Where the stages that read rows run: pandas in one process, or Dask partition by partition (pipeline.engine).

    Nothing else in params.yaml changes between the two; the row cap and the drift sample hold for both, so the
    two give the same answers (README, "When the data outgrows one machine").
    """

    kind: Literal["pandas", "dask"] = Field(
        default="pandas", description="pandas: every stage in one process; dask: on a Dask cluster."
    )
    address: str | None = Field(
        default=None,
        description="dask: the scheduler to connect to (tcp://host:8786, a Gateway's); null starts a LocalCluster.",
    )
    workers: int | None = Field(
        default=None, ge=1, description="dask, LocalCluster only: worker processes (null: one per core)."
    )
    train_rows: int | None = Field(
        default=None,
        ge=1000,
        description="Train on at most this many rows: beyond it, a deterministic sample with the same rate in every "
        "period and class (recorded in the model card); null: every row.",
    )
    drift_rows: int | None = Field(
        default=None,
        ge=1000,
        description="Drift statistics on at most this many rows per side: beyond it, a deterministic sample; null: "
        "every row.",
    )
    suggest_above: int = Field(
        default=5_000_000, ge=1, description="`pipeline init` suggests kind: dask for data with more rows than this."
    )


class Drift(_Section):
    """When a column, and the dataset, count as drifted (see pipeline.drift_stats for the reasoning)."""

    alpha: float = Field(gt=0, lt=1, description="False discovery rate across columns (Benjamini-Hochberg).")
    effect_thresholds: dict[Literal["numeric", "categorical"], float] = Field(
        description="Primary effect size a drifting column must exceed: normalized Wasserstein (numeric), "
        "Jensen-Shannon distance (categorical)."
    )
    share: float = Field(gt=0, le=1, description="The dataset drifts when this share of columns drifts...")
    critical: list[str] = Field(default=[], description="...or when any of these columns drifts.")
    min_rows: int = Field(ge=2, description="Fewest non-missing values per side for a column to be tested.")
    bins: int = Field(ge=2, description="Reference-quantile bins for the PSI of numeric columns.")
    report_url: str = Field(description="Where the drift alert links to (the site's drift page).")

    @model_validator(mode="after")
    def _both_kinds(self) -> Drift:
        missing = {"numeric", "categorical"} - set(self.effect_thresholds)
        if missing:
            raise ValueError(f"drift.effect_thresholds needs a value for {sorted(missing)}")
        return self


class Directional(_Section):
    """Domain knowledge a model must respect: moving `feature` from `low` to `high` moves the mean prediction."""

    feature: str = Field(description="A numeric feature.")
    low: float
    high: float
    effect: Literal["increase", "decrease"] = Field(
        description="How the mean prediction moves: the positive class's probability (binary), the class "
        "`label`'s probability (multiclass) or the predicted value (regression)."
    )
    label: str | None = Field(default=None, description="multiclass only: the class whose probability moves.")


class ModelChecks(_Section):
    """What the project's model tests (tests/project/test_model.py) expect of every model trained here."""

    invariant: list[str] = Field(
        default=[], description="Columns, besides the identifiers, whose values must never change a prediction."
    )
    directional: list[Directional] = []
    simpler: Literal["fail", "warn"] = Field(
        default="fail",
        description="When the model is not shown better than `evaluate.simpler` by the paired interval: fail the "
        "model test, or only warn (an evaluation period too small to show it either way; `init` says so).",
    )


class Params(_Section):
    """Everything in `params.yaml`, one attribute per top-level section."""

    base: Base
    paths: Paths
    ingest: Ingest
    prepare: Prepare
    task: Task
    features: Features
    window: Window
    train: Train
    tune: Tune = Tune()
    evaluate: Evaluate
    drift: Drift
    gate: Gate
    model_checks: ModelChecks = ModelChecks()
    staleness: Staleness = Staleness()
    monitor: Monitor = Monitor()
    engine: Engine = Engine()

    @model_validator(mode="after")
    def _target_is_not_an_input(self) -> Params:
        if self.task.target.column in self.features.inputs:
            raise ValueError(f"the target {self.task.target.column!r} is listed as a feature")
        unknown = sorted(set(self.drift.critical) - set(self.features.inputs))
        if unknown:
            raise ValueError(f"drift.critical names columns that are not features: {unknown}")
        unknown = sorted(set(self.train.monotonic) - set(self.features.numeric))
        if unknown:
            raise ValueError(f"train.monotonic names columns that are not numeric features: {unknown}")
        unknown = sorted(set(self.evaluate.slices.columns) - set(self.features.inputs))
        if unknown:
            raise ValueError(f"evaluate.slices.columns names columns that are not features: {unknown}")
        return self

    @model_validator(mode="after")
    def _model_checks_name_features(self) -> Params:
        unknown = sorted({d.feature for d in self.model_checks.directional} - set(self.features.numeric))
        if unknown:
            raise ValueError(f"model_checks.directional names columns that are not numeric features: {unknown}")
        labels = [d.label for d in self.model_checks.directional]
        if self.task.type == "multiclass" and None in labels:
            raise ValueError("model_checks.directional needs `label` (the class whose probability moves) per check")
        if self.task.type != "multiclass" and any(labels):
            raise ValueError(f"model_checks.directional: `label` is for a multiclass task, not {self.task.type}")
        return self

    @model_validator(mode="after")
    def _batches_come_from_a_source(self) -> Params:
        if self.prepare.batches not in self.ingest.source.tables:
            raise ValueError(
                f"prepare.batches is {self.prepare.batches!r}, which ingest.source.tables does not "
                f"list ({', '.join(self.ingest.source.tables)}): the batches must come from a source"
            )
        return self


def load_params(path: Path | str = "params.yaml") -> Params:
    """Read and check `params.yaml`.

    Args:
        path: The parameters file.

    Returns:
        The frozen, validated parameters.

    Raises:
        PipelineError: The file is missing or unreadable, is not YAML, or a key is unknown, missing or of the
            wrong type; the message names the file and the dotted key.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PipelineError(f"{path}: cannot read the parameters file ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise PipelineError(f"{path}: not valid YAML ({exc})") from exc
    try:
        params = Params.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        raise PipelineError(f"{path}: " + "; ".join(_describe(err) for err in exc.errors())) from exc
    return params


def _describe(error: dict) -> str:
    """One pydantic error as `key 'a.b': message`."""
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"key '{key}': unknown key (a typo? see the template's params.yaml for the known keys)"
    if error["type"] == "missing":
        return f"key '{key}': missing"
    if not error["loc"]:  # a rule across sections: its message names the keys; the input is the whole file
        return error["msg"].removeprefix("Value error, ")
    return f"key '{key}': {error['msg']} (got {error.get('input')!r})"
