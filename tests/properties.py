"""Properties a deployable model must have, as functions of (model, rows) that return what they measured.

The project's model tests (`tests/project/test_model.py`) assert them on the model `dvc.lock` pins, whatever
the task; `tests/unit/test_model_properties.py` feeds each one a deliberately broken model and shows it fails,
so none of them can pass vacuously.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import Params
from pipeline.metrics import TASKS


def scores(model, rows: pd.DataFrame, task: str = "binary") -> np.ndarray:
    """The model's scores for `rows`, through the columns it was trained on (as batch scoring calls it).

    binary: the positive class's probability; multiclass: one probability per class; regression: the value.
    """
    return TASKS[task].score(model, rows[list(model.feature_names_in_)])


def single_row_gap(model, rows: pd.DataFrame, task: str = "binary") -> float:
    """Largest difference between scoring rows one at a time and scoring them as one batch."""
    batch = scores(model, rows, task)
    alone = np.array([scores(model, rows.iloc[[i]], task)[0] for i in range(len(rows))])
    return float(np.max(np.abs(batch - alone)))


def identifier_gap(model, rows: pd.DataFrame, identifiers: list[str], task: str = "binary") -> float:
    """Largest change in a score when every identifier is replaced by another row's (shuffled)."""
    shuffled = rows.assign(**{name: rows[name].sample(frac=1, random_state=0).to_numpy() for name in identifiers})
    return float(np.max(np.abs(scores(model, rows, task) - scores(model, shuffled, task))))


def mean_shift(
    model, rows: pd.DataFrame, column: str, *, low: float, high: float, task: str = "binary", label: str | None = None
) -> float:
    """Mean score with `column` set to `high` minus with it set to `low`, all else as observed.

    For a multiclass model the score is the probability of the class `label`.
    """

    def mean_score(value: float) -> float:
        score = scores(model, rows.assign(**{column: value}), task)
        if score.ndim == 2:
            score = score[:, [str(c) for c in model.classes_].index(str(label))]
        return float(score.mean())

    return mean_score(high) - mean_score(low)


def params_with(params: Params, **hyperparameters) -> Params:
    """`params` with some hyper-parameters changed."""
    train = params.train.model_copy(update={"hyperparameters": {**params.train.hyperparameters, **hyperparameters}})
    return params.model_copy(update={"train": train})
