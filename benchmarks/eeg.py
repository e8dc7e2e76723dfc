"""EEG benchmarks: speed of the simulated generator on one core, how often its measurements
meet their targets, agreement of its band powers with MNE's Welch PSD, and the emotion
effects measured on the DEAP-style recipe.

Target (issue 15): >= 20 episodes/s of 32 channels x 10 s at 128 Hz on one core.
`python benchmarks/eeg.py` prints the rows.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SPEED_RECIPE = """
name: bench-eeg
seed: 3
size: {size}
emotions: [neutral, happiness, sadness, anger, fear, disgust, surprise]
identities: 20
modalities:
  eeg: {{montage: deap-32, sampling_rate: 128, artifacts: {artifacts}}}
"""
EFFECTS = (("faa_change", "frontal alpha asymmetry change", None),
           ("alpha", "posterior alpha ln change", ("change", "alpha", "posterior")),
           ("beta", "central beta ln change", ("change", "beta", "central")),
           ("gamma", "central gamma ln change", ("change", "gamma", "central")))


def planned(recipe):
    """The recipe's planned specs, in plan order."""
    from factory.plan import episode_of, make_plan, specs_from_rows

    return list(specs_from_rows(make_plan(recipe).samples, list(recipe.population), episode_of(recipe)))


def speed(artifacts: str, size: int = 200, repeats: int = 3) -> tuple[float, list[dict]]:
    """Episodes/s of the generator alone on one core (BLAS limited to one thread), best of
    `repeats`, and the labels it made."""
    from threadpoolctl import threadpool_limits

    from factory.eeg.generator import EEGGenerator
    from factory.recipe import parse_recipe

    recipe = parse_recipe(SPEED_RECIPE.format(size=size, artifacts=artifacts))
    specs = planned(recipe)
    gen = EEGGenerator(recipe.modalities["eeg"])
    gen.generate(specs[:5])                               # projections and kernels are built once
    best = float("inf")
    with threadpool_limits(1):
        for _ in range(repeats):
            start = time.perf_counter()
            parts = gen.generate(specs)
            best = min(best, time.perf_counter() - start)
    return size / best, [p.labels for p in parts]


def met_rates(labels: list[dict]) -> str:
    """Share of samples meeting each target, e.g. 'iaf 100%, faa_change 98%'."""
    from factory.assemble import flatten

    rows = [flatten(s["met"]) for s in labels]
    return ", ".join(f"{k} {100 * np.mean([r[k] for r in rows]):.0f}%" for k in rows[0])


def mne_agreement(size: int = 20) -> float:
    """Median |ln(ours / MNE's)| of the post-onset band powers of every channel, MNE's
    psd_array_welch run on the same samples with the same 1-s Hann segments (no DC removal,
    like ours: the amplifier's high-pass already removed it)."""
    import io

    from mne.time_frequency import psd_array_welch

    from factory.eeg.generator import EEGGenerator
    from factory.eeg.measure import BANDS, windows
    from factory.recipe import parse_recipe

    recipe = parse_recipe(SPEED_RECIPE.format(size=size, artifacts="realistic"))
    specs = planned(recipe)
    gen = EEGGenerator(recipe.modalities["eeg"])
    fs = gen.rate
    diffs = []
    for spec, part in zip(specs, gen.generate(specs)):
        x = np.load(io.BytesIO(part.files["eeg.npy"]), allow_pickle=False).astype(np.float64)
        a, b = windows(spec.episode, fs)["post"]
        psd, freqs = psd_array_welch(x[:, a:b], fs, n_fft=fs, n_per_seg=fs, n_overlap=fs // 2, window="hann",
                                     remove_dc=False, verbose=False)
        for band, (lo, hi) in BANDS.items():
            theirs = psd[:, (freqs >= lo) & (freqs < hi)].sum(axis=1) * (freqs[1] - freqs[0])
            ours = np.array(part.labels["measured"]["channel_power_post"][band])
            diffs.extend(np.abs(np.log(ours / theirs)))
    return float(np.median(diffs))


def effects(recipe_path: Path = ROOT / "recipes" / "deap-style-eeg.yaml") -> tuple[list[dict], float]:
    """Per emotion: mean measured (target) effect over the recipe's samples, and seconds taken."""
    from factory.eeg.generator import EEGGenerator
    from factory.recipe import load_recipe

    recipe = load_recipe(recipe_path)
    specs = planned(recipe)
    gen = EEGGenerator(recipe.modalities["eeg"])
    start = time.perf_counter()
    by: dict[str, list[dict]] = {}
    for i in range(0, len(specs), 100):
        for spec, part in zip(specs[i:i + 100], gen.generate(specs[i:i + 100])):
            by.setdefault(spec.emotion, []).append(part.labels)
    took = time.perf_counter() - start
    rows = []
    for emotion in recipe.emotions:
        samples = by.get(emotion, [])
        cells = []
        for key, _, path in EFFECTS:
            get = (lambda d: d["faa_change"]) if path is None else (lambda d, p=path: d[p[0]][p[1]][p[2]])
            m = np.array([get(s["measured"]) for s in samples])
            t = np.array([get(s["target"]) for s in samples])
            cells.append(f"{key} {np.nanmean(m):+.3f} ± {np.nanstd(m) / np.sqrt(len(m)):.3f} (target {np.nanmean(t):+.3f})")
        rows.append({"benchmark": f"DEAP-style effect: {emotion}", "value": f"n={len(samples)}",
                     "detail": "; ".join(cells)})
    return rows, took


def run() -> list[dict]:
    """All EEG figures as rows for docs/benchmarks.md."""
    clean_rate, clean = speed("none")
    dirty_rate, dirty = speed("realistic")
    agreement = mne_agreement()
    effect_rows, took = effects()
    detail = "200 planned samples, 7 emotions, 20 persons; one core (BLAS 1 thread), best of 3; target >= 20"
    from factory.assemble import flatten

    overall = lambda labels: 100 * np.mean([v for s in labels for v in flatten(s["met"]).values()])
    return [
        {"benchmark": "EEG generator, 32 ch x 10 s at 128 Hz, artifacts none", "value": f"{clean_rate:.1f} episodes/s",
         "detail": detail},
        {"benchmark": "EEG generator, 32 ch x 10 s at 128 Hz, artifacts realistic", "value": f"{dirty_rate:.1f} episodes/s",
         "detail": detail},
        {"benchmark": "EEG targets met, artifacts none", "value": f"{overall(clean):.1f}%", "detail": met_rates(clean)},
        {"benchmark": "EEG targets met, artifacts realistic", "value": f"{overall(dirty):.1f}%",
         "detail": met_rates(dirty) + " (targets describe the brain signal; blinks and muscle add to delta and gamma)"},
        {"benchmark": "EEG band powers vs MNE psd_array_welch", "value": f"{agreement:.2e}",
         "detail": "median abs ln(ours / MNE) over 20 samples x 32 channels x 5 bands, post-onset window"},
        *effect_rows,
        {"benchmark": "DEAP-style recipe, generator alone", "value": f"{took:.0f} s",
         "detail": "recipes/deap-style-eeg.yaml: 1280 episodes of 63 s, 32 ch at 128 Hz, artifacts realistic; "
                   "effects are mean ± SE of measured values (mean target in brackets), ln units"},
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
