"""Planning cost per sample: the measurements behind factory.plan.PLAN_BYTES_PER_SAMPLE and
PLAN_SECONDS_PER_SAMPLE (what `plan` / `generate` use to refuse a size that cannot fit and to
print an estimate before a long plan).

Each size is planned in a fresh process with the default recipe (default balance, one person
per sample); memory is the process's peak resident size minus its size after the imports.

`python benchmarks/plan_cost.py` prints the rows; `python benchmarks/run.py plan_cost` records them.
"""
from __future__ import annotations

import json
import subprocess
import sys

SIZES = (20_000, 200_000)

CHILD = """
import json, resource, sys, time
from factory.plan import make_plan
from factory.recipe import Recipe
recipe = Recipe.model_validate({"size": int(sys.argv[1])})
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
start = time.perf_counter()
make_plan(recipe)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "bytes": peak - base}))
"""


def measure(size: int) -> dict:
    """Seconds and peak extra bytes of planning `size` default samples in a fresh process."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(size)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run() -> list[dict]:
    """One row per size, and the constants the factory uses."""
    from factory.plan import PLAN_BYTES_PER_SAMPLE, PLAN_SECONDS_PER_SAMPLE

    rows, measured = [], {}
    for size in SIZES:
        m = measured[size] = measure(size)
        rows.append({"benchmark": f"plan {size:,} default samples",
                     "value": f"{m['bytes'] / size:,.0f} B/sample, {m['seconds'] / size * 1e3:.2f} ms/sample",
                     "detail": f"{m['seconds']:.1f} s, {m['bytes'] / 1e6:.0f} MB peak above the imports"})
    (small, a), (large, b) = sorted(measured.items())
    rows.append({"benchmark": f"marginal cost, {small:,} -> {large:,}",
                 "value": f"{(b['bytes'] - a['bytes']) / (large - small):,.0f} B/sample, "
                          f"{(b['seconds'] - a['seconds']) / (large - small) * 1e3:.2f} ms/sample",
                 "detail": "what grows with size (a small plan's peak is mostly fixed overhead)"})
    rows.append({"benchmark": "constants in factory/plan.py",
                 "value": f"{PLAN_BYTES_PER_SAMPLE:,} B/sample, {PLAN_SECONDS_PER_SAMPLE * 1e3:.2f} ms/sample",
                 "detail": "the marginal cost rounded up (about 2x the memory; time as on a loaded machine, where it was "
                           "0.46 ms/sample): shared 2-core machine, times are noisy"})
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
