"""Properties a deployable model must have, as functions of (model, rows) that return what they measured.

The model tests assert them on the trained artifact; `test_properties_catch_broken_models.py` feeds each one a
deliberately broken model and shows it fails, so none of them can pass vacuously.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.config import Params
from pipeline.metrics import TASKS


def scores(model, rows: pd.DataFrame) -> np.ndarray:
    """The model's scores for `rows`, through the columns it was trained on (as batch scoring calls it)."""
    return TASKS["binary"].score(model, rows[list(model.feature_names_in_)])


def single_row_gap(model, rows: pd.DataFrame) -> float:
    """Largest difference between scoring rows one at a time and scoring them as one batch."""
    batch = scores(model, rows)
    alone = np.array([scores(model, rows.iloc[[i]])[0] for i in range(len(rows))])
    return float(np.max(np.abs(batch - alone)))


def identifier_gap(model, rows: pd.DataFrame, identifiers: list[str]) -> float:
    """Largest change in a score when every identifier is replaced by another row's (shuffled)."""
    shuffled = rows.assign(**{name: rows[name].sample(frac=1, random_state=0).to_numpy() for name in identifiers})
    return float(np.max(np.abs(scores(model, rows) - scores(model, shuffled))))


def mean_shift(model, rows: pd.DataFrame, column: str, low: float, high: float) -> float:
    """Mean score with `column` set to `high` minus with it set to `low`, all else as observed."""
    return float(
        scores(model, rows.assign(**{column: high})).mean() - scores(model, rows.assign(**{column: low})).mean()
    )


def params_with(params: Params, **hyperparameters) -> Params:
    """`params` with some hyper-parameters changed."""
    train = params.train.model_copy(update={"hyperparameters": {**params.train.hyperparameters, **hyperparameters}})
    return params.model_copy(update={"train": train})
