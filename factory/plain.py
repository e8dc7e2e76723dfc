"""Plain Python values from numpy ones: what sample JSON, index rows and labels hold."""
from __future__ import annotations

from typing import Any

import numpy as np


def to_python(value: Any) -> Any:
    """`value` with numpy scalars as Python numbers, tuples as lists and dict keys as strings,
    recursively (so `json.dumps` and pyarrow see only plain types)."""
    if isinstance(value, dict):
        return {str(k): to_python(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_python(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
