"""Electrode names, positions, preset montages and scalp regions.

Positions are MNE-Python's template montage `colin27_1005` (called `standard_1005` before
MNE 1.13: the 343 positions of the 10-05 system on the Colin27 head, Oostenveld & Praamstra
2001) plus the cerebellar electrodes Cb1/Cb2 of MNE's `colin27_postfixed` (SEED's CB1/CB2),
in metres. They are copied into ``factory/data/eeg/colin27_1005.tsv`` by `write_positions`
so that the generator needs no MNE at run time; a test checks the copy against MNE.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from factory.errors import did_you_mean

POSITIONS_FILE = Path(__file__).resolve().parent.parent / "data" / "eeg" / "colin27_1005.tsv"

PRESETS: dict[str, tuple[str, ...]] = {
    # DEAP (Koelstra et al. 2011): BioSemi 32-channel, in the order of the preprocessed files.
    "deap-32": ("Fp1", "AF3", "F3", "F7", "FC5", "FC1", "C3", "T7", "CP5", "CP1", "P3", "P7", "PO3", "O1", "Oz",
                "Pz", "Fp2", "AF4", "Fz", "F4", "F8", "FC6", "FC2", "Cz", "C4", "T8", "CP6", "CP2", "P4", "P8",
                "PO4", "O2"),
    # SEED (Zheng & Lu 2015): ESI NeuroScan 62-channel cap, in the order of its channel list.
    "seed-62": ("Fp1", "Fpz", "Fp2", "AF3", "AF4", "F7", "F5", "F3", "F1", "Fz", "F2", "F4", "F6", "F8", "FT7",
                "FC5", "FC3", "FC1", "FCz", "FC2", "FC4", "FC6", "FT8", "T7", "C5", "C3", "C1", "Cz", "C2", "C4",
                "C6", "T8", "TP7", "CP5", "CP3", "CP1", "CPz", "CP2", "CP4", "CP6", "TP8", "P7", "P5", "P3", "P1",
                "Pz", "P2", "P4", "P6", "P8", "PO7", "PO5", "PO3", "POz", "PO4", "PO6", "PO8", "Cb1", "O1", "Oz",
                "O2", "Cb2"),
    # DREAMER (Katsigiannis & Ramzan 2018): Emotiv EPOC 14-channel headset.
    "emotiv-14": ("AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4", "F8", "AF4"),
    # The international 10-20 system's 19 electrodes (modern names T7/T8/P7/P8 for T3/T4/T5/T6).
    "10-20-19": ("Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7", "P3", "Pz", "P4",
                 "P8", "O1", "O2"),
}
REGIONS = ("frontal", "central", "temporal", "posterior")
_REGION_PREFIX = (("temporal", r"(FT|T|TP)\d"), ("central", r"(FC|C|CP)(\d|z)"), ("frontal", r"(Fp|AF|F)(\d|z)"),
                  ("posterior", r"(P|PO|O|I|Cb)(\d|z)"))


@lru_cache(maxsize=1)
def positions() -> dict[str, np.ndarray]:
    """Every known electrode name and its position (metres, MNE head/MRI frame)."""
    out = {}
    for line in POSITIONS_FILE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith(("#", "name\t")):
            name, *xyz = line.split("\t")
            out[name] = np.array([float(v) for v in xyz])
    return out


@lru_cache(maxsize=1)
def _canonical() -> dict[str, str]:
    return {name.lower(): name for name in positions()}


def resolve(names: list[str]) -> tuple[list[str], list[str]]:
    """Canonical spellings of `names` (case-insensitive, 'CB1' -> 'Cb1'), and those unknown."""
    table = _canonical()
    return [table.get(n.lower(), n) for n in names], [n for n in names if n.lower() not in table]


def suggest(name: str, choices=None) -> str:
    """' (did you mean X?)' for a misspelt electrode name (or one of `choices`), or ''."""
    return did_you_mean(name, positions() if choices is None else choices, ignore_case=True)


def unit_vectors(names: list[str]) -> np.ndarray:
    """Electrode directions from the head's centre (fitted sphere), one unit row per name."""
    centre = _sphere_centre()
    xyz = np.stack([positions()[n] for n in names]) - centre
    return xyz / np.linalg.norm(xyz, axis=1, keepdims=True)


@lru_cache(maxsize=1)
def _sphere_centre() -> np.ndarray:
    """Least-squares centre of the sphere through every template electrode."""
    p = np.stack(list(positions().values()))
    a = np.column_stack([2 * p, np.ones(len(p))])
    solution, *_ = np.linalg.lstsq(a, (p ** 2).sum(axis=1), rcond=None)
    return solution[:3]


def angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Great-circle angles (radians) between unit vectors: rows of `a` x rows of `b`."""
    return np.arccos(np.clip(a @ b.T, -1.0, 1.0))


@lru_cache(maxsize=None)
def region(name: str) -> str:
    """The scalp region of an electrode: frontal, central, temporal or posterior."""
    for label, pattern in _REGION_PREFIX:
        if re.fullmatch(pattern, name):
            return label
    legacy = {"T3": "temporal", "T4": "temporal", "T5": "temporal", "T6": "temporal"}
    return legacy.get(name, "posterior" if name.startswith(("P", "O", "I")) else "frontal")


def write_positions(path: Path = POSITIONS_FILE) -> None:
    """Regenerate the positions file from MNE-Python (needs `pip install mne`)."""
    import warnings

    import mne

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # standard_1005 is colin27_1005 from MNE 1.13
        kind = "colin27_1005" if "colin27_1005" in mne.channels.get_builtin_montages() else "standard_1005"
        main = mne.channels.make_standard_montage(kind).get_positions()["ch_pos"]
        cerebellar = mne.channels.make_standard_montage("colin27_postfixed").get_positions()["ch_pos"]
    rows = {**main, "Cb1": cerebellar["Cb1"], "Cb2": cerebellar["Cb2"]}
    lines = [f"# MNE-Python {mne.__version__} montage {kind} + Cb1/Cb2 of colin27_postfixed (metres; BSD-3-Clause). "
             "Regenerate: python -c 'from factory.eeg.montages import write_positions; write_positions()'",
             "name\tx\ty\tz"]
    lines += [f"{n}\t{p[0]:.7f}\t{p[1]:.7f}\t{p[2]:.7f}" for n, p in rows.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
