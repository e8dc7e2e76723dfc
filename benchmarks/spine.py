"""Spine benchmarks: the physiology generator alone vs `generate` end to end, and peak RSS.

Targets (issue 2): end-to-end throughput >= 0.95 x the bare generator's on the same samples;
peak RSS at 10,000 samples <= 1.1 x at 1,000 (the run streams; nothing is held per dataset).
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

THROUGHPUT_RECIPE = """
name: bench-physiology
seed: 1
size: {size}
shard_size: 50
modalities:
  physiology: {{signals: [ecg, ppg, eda, rsp, emg], sampling_rate: 256}}
"""
# RSS runs use a light signal set so 10,000 samples finish in minutes; memory is what is measured.
RSS_RECIPE = """
name: bench-rss
seed: 1
size: {size}
shard_size: 100
identities: {identities}
balance: [[emotion, sex], [emotion, skin_tone]]
modalities:
  physiology: {{signals: [eda], sampling_rate: 64}}
"""


def bare_generator(recipe_text: str) -> tuple[int, float]:
    """Samples and seconds for the physiology generator alone over the planned samples."""
    from factory.physiology.generator import PhysiologyGenerator
    from factory.plan import episode_of, make_plan, specs_from_rows
    from factory.recipe import parse_recipe

    recipe = parse_recipe(recipe_text)
    plan = make_plan(recipe)
    specs = list(specs_from_rows(plan.samples, list(recipe.population), episode_of(recipe)))
    gen = PhysiologyGenerator(recipe.modalities["physiology"])
    start = time.perf_counter()
    for i in range(0, len(specs), recipe.shard_size):
        gen.generate(specs[i:i + recipe.shard_size])
    return len(specs), time.perf_counter() - start


def end_to_end(recipe_text: str) -> tuple[int, float]:
    """Samples and seconds for `generate` (plan excluded, writing and index included)."""
    from factory.execute import generate
    from factory.plan import make_plan
    from factory.recipe import parse_recipe

    recipe = parse_recipe(recipe_text)
    plan = make_plan(recipe)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        generate(recipe, plan, out)
        return len(plan.samples), time.perf_counter() - start


def peak_rss_mb(size: int) -> tuple[float, float]:
    """Peak RSS (MB) of a fresh process generating `size` samples: after the shards, index
    and manifest are written, and after the audit, cards and report (which read the index)."""
    with tempfile.TemporaryDirectory() as tmp:
        code = textwrap.dedent(f"""
            import resource, sys
            sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
            import spine
            from factory.document import document_dataset
            from factory.execute import generate
            from factory.plan import make_plan
            from factory.recipe import parse_recipe
            recipe = parse_recipe(spine.RSS_RECIPE.format(size={size}, identities={max(size // 10, 20)}))
            generate(recipe, make_plan(recipe), {str(Path(tmp) / 'out')!r})
            print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            document_dataset({str(Path(tmp) / 'out')!r})
            print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        """)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        gen, doc = (float(x) for x in done.stdout.strip().splitlines()[-2:])
        return gen, doc


def run(size: int = 200, repeats: int = 3) -> list[dict]:
    """All spine figures as rows for docs/benchmarks.md.

    Generator-alone and end-to-end runs are interleaved `repeats` times and the best of each
    is kept, so a slow moment of a shared machine does not land on one side only.
    """
    text = THROUGHPUT_RECIPE.format(size=size)
    end_to_end(THROUGHPUT_RECIPE.format(size=20))          # warm imports and caches
    bare = full = float("inf")
    for _ in range(repeats):
        n, t = bare_generator(text)
        bare = min(bare, t)
        n2, t = end_to_end(text)
        full = min(full, t)
    ratio = (n2 / full) / (n / bare)
    (gen_small, doc_small), (gen_large, doc_large) = peak_rss_mb(1000), peak_rss_mb(10000)
    return [
        {"benchmark": "physiology generator alone", "value": f"{n / bare:.2f} samples/s", "detail": f"{n} samples, 5 signals at 256 Hz, 10 s; best of {repeats}"},
        {"benchmark": "generate end to end (same samples)", "value": f"{n2 / full:.2f} samples/s", "detail": "tar + index parts + manifest + index.parquet"},
        {"benchmark": "end-to-end / generator", "value": f"{ratio:.3f}", "detail": "target >= 0.95"},
        {"benchmark": "peak RSS of generate, 1,000 samples", "value": f"{gen_small:.0f} MB", "detail": "shards + index + manifest; EDA at 64 Hz, fresh process"},
        {"benchmark": "peak RSS of generate, 10,000 samples", "value": f"{gen_large:.0f} MB", "detail": f"ratio {gen_large / gen_small:.3f}, target <= 1.1"},
        {"benchmark": "peak RSS incl. audit, cards, report, 1,000 samples", "value": f"{doc_small:.0f} MB", "detail": "the audit reads the whole index"},
        {"benchmark": "peak RSS incl. audit, cards, report, 10,000 samples", "value": f"{doc_large:.0f} MB", "detail": f"ratio {doc_large / doc_small:.3f}"},
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
