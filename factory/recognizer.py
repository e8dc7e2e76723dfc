"""A small baseline emotion recognizer on the index's measured features.

The fairness audit (downstream parity) and `affect-factory evaluate` train it on one split and
score it on another. Features are the numeric ``*.measured.*`` columns of an index DataFrame
(what the generators measured on their own output: heart rate, F0, action units, ...), so the
recognizer never sees the targets it is asked to recover. The estimator is pluggable: any
scikit-learn classifier, or one of the names in `ESTIMATORS`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import numpy as np
import pandas as pd

from factory.errors import FactoryError

MEASURED = ".measured."


def measured_columns(table: pd.DataFrame) -> list[str]:
    """Numeric (not boolean) ``*.measured.*`` columns, whatever their values, in table order."""
    return [c for c in table.columns if MEASURED in c and pd.api.types.is_numeric_dtype(table[c])
            and not pd.api.types.is_bool_dtype(table[c])]


def feature_columns(table: pd.DataFrame) -> list[str]:
    """`measured_columns` with at least one finite value: what the recognizer can learn from."""
    return [c for c in measured_columns(table)
            if np.isfinite(table[c].to_numpy(dtype=float, na_value=np.nan)).any()]


def _logistic(seed: int):
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
                         LogisticRegression(max_iter=2000, random_state=seed))


def _forest(seed: int):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                         RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1))


ESTIMATORS: dict[str, Callable[[int], object]] = {"logistic": _logistic, "forest": _forest}


def random_state(seed: int) -> int:
    """A recipe seed (0 <= seed < 2**63) as scikit-learn's `random_state`, which must be < 2**32."""
    return int(seed) % 2**32


def make_estimator(kind: Union[str, object] = "logistic", seed: int = 0):
    """A scikit-learn classifier: a name in `ESTIMATORS`, or an estimator returned as is (cloned)."""
    if isinstance(kind, str):
        if kind not in ESTIMATORS:
            raise FactoryError(f"unknown recognizer {kind!r}; known: {', '.join(ESTIMATORS)}")
        return ESTIMATORS[kind](random_state(seed))
    from sklearn.base import clone

    return clone(kind)


@dataclass
class Recognizer:
    """Standardized features -> classifier; `fit` on one index DataFrame, `predict` on another."""

    estimator: Union[str, object] = "logistic"
    label: str = "emotion"
    features: Optional[list[str]] = None
    seed: int = 0
    model: object = field(default=None, init=False, repr=False)
    classes_: list = field(default_factory=list, init=False)
    constant_: Optional[str] = field(default=None, init=False)

    def _matrix(self, df: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.features if c not in df.columns]
        if missing:
            raise FactoryError(f"recognizer: the data lacks feature columns {missing}")
        return df[self.features].to_numpy(dtype=float, na_value=np.nan)

    def fit(self, train: pd.DataFrame) -> "Recognizer":
        """Train on `train`; with a single class it degenerates to predicting that class."""
        if train.empty:
            raise FactoryError("recognizer: no training samples")
        if self.features is None:
            self.features = feature_columns(train)
        if not self.features:
            raise FactoryError("recognizer: no numeric *.measured.* feature columns in the index")
        y = train[self.label].astype(str).to_numpy()
        self.classes_ = sorted(set(y))
        if len(self.classes_) < 2:
            self.constant_ = self.classes_[0]
            return self
        self.model = make_estimator(self.estimator, self.seed)
        self.model.fit(self._matrix(train), y)
        return self

    def predict_proba(self, df: pd.DataFrame) -> Optional[np.ndarray]:
        """Class probabilities, one column per class of `classes_`; None when the estimator has none
        (or the recognizer degenerated to a constant)."""
        if self.model is None or not hasattr(self.model, "predict_proba"):
            return None
        return self.model.predict_proba(self._matrix(df))

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """Predicted labels (strings), one per row of `df`."""
        if self.constant_ is not None:
            return np.full(len(df), self.constant_, dtype=object)
        if self.model is None:
            raise FactoryError("recognizer: call fit() first")
        if df.empty:
            return np.array([], dtype=object)
        return np.asarray(self.model.predict(self._matrix(df)), dtype=object)


def train_test(index: pd.DataFrame, train: str = "train", test: Optional[str] = None,
               estimator: Union[str, object] = "logistic", label: str = "emotion",
               seed: int = 0) -> tuple[Recognizer, pd.DataFrame, np.ndarray]:
    """Fit on split `train`, predict split `test` (default: `test`, else `validation`).

    Returns the recognizer, the test rows and their predictions; raises FactoryError naming
    what is missing (a split, features) so callers can report it instead of crashing.
    """
    splits = set(index["split"].astype(str))
    if train not in splits:
        raise FactoryError(f"no {train!r} split (splits: {', '.join(sorted(splits))})")
    if test is None:
        test = next((s for s in ("test", "validation") if s in splits), None)
        if test is None:
            raise FactoryError(f"no 'test' or 'validation' split to score on (splits: {', '.join(sorted(splits))})")
    elif test not in splits:
        raise FactoryError(f"no {test!r} split (splits: {', '.join(sorted(splits))})")
    rows = index[index["split"].astype(str) == test]
    model = Recognizer(estimator=estimator, label=label, seed=seed).fit(index[index["split"].astype(str) == train])
    return model, rows, model.predict(rows)
