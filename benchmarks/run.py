"""Run every benchmark and write docs/benchmarks.md (`make bench`).

Each benchmarks/<name>.py exposes `run() -> list[dict]` with keys benchmark, value, detail.
`python benchmarks/run.py spine speech` runs only those.
"""
from __future__ import annotations

import datetime
import importlib
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECTIONS = ["spine", "speech", "face", "eeg", "scaling", "realism", "plan_cost"]


def machine() -> str:
    """A one-line description of this machine."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}, {platform.system()}"


def main(names: list[str]) -> None:
    sys.path.insert(0, str(HERE))
    sys.path.insert(1, str(HERE.parent / "tests"))   # tiny_models: test-only model builders
    out = HERE.parent / "docs" / "benchmarks.md"
    previous = _sections(out.read_text()) if out.exists() else {}
    for name in names or SECTIONS:
        if not (HERE / f"{name}.py").exists():
            continue
        start = time.perf_counter()
        rows = importlib.import_module(name).run()
        took = time.perf_counter() - start
        lines = [f"## {name}", "", f"Measured {datetime.date.today()} on {machine()}; "
                 f"`python benchmarks/run.py {name}` ({took:.0f} s).", "",
                 "| benchmark | value | detail |", "| --- | --- | --- |"]
        lines += [f"| {r['benchmark']} | {r['value']} | {r.get('detail', '')} |" for r in rows]
        previous[name] = "\n".join(lines) + "\n"
        print(previous[name])
    header = "# Benchmarks\n\nProduced by `make bench` (all) or `python benchmarks/run.py SECTION`.\n\n"
    out.write_text(header + "\n".join(previous[k] for k in sorted(previous, key=_order)))


def _order(name: str) -> int:
    return SECTIONS.index(name) if name in SECTIONS else len(SECTIONS)


def _sections(text: str) -> dict[str, str]:
    parts = {}
    for block in text.split("\n## ")[1:]:
        name = block.split("\n", 1)[0].strip()
        parts[name] = "## " + block.rstrip() + "\n"
    return parts


if __name__ == "__main__":
    main(sys.argv[1:])
