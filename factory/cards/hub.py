"""The Hugging Face Hub dataset card: its YAML metadata and its Markdown (which embeds the datasheet)."""
from __future__ import annotations

from typing import Any

import yaml


def size_category(n: int) -> str:
    """The Hub's size_categories value for n samples."""
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M")):
        if n < limit:
            return label
    return "100M<n<1B"


def hub_metadata(ctx: dict[str, Any]) -> dict[str, Any]:
    """The YAML header of the Hub dataset card."""
    mods = ctx["modality_names"]
    tasks = []
    if "face" in mods:
        tasks.append("image-classification")
    if "speech" in mods:
        tasks.append("audio-classification")
    if "physiology" in mods or not tasks:
        tasks.append("tabular-classification")
    tags = ["synthetic", "emotion-recognition", "affective-computing", "webdataset", "affect-factory"]
    for mod in mods:
        tags += {"physiology": ["physiological-signals", "time-series"], "speech": ["speech", "audio"],
                 "face": ["faces", "image"]}.get(mod, [mod])
    langs = sorted({str(loc).split("-")[0] for loc in ctx["population"].get("locale", [])}) if "speech" in mods else []
    meta = {
        "license": ctx["license"], "pretty_name": ctx["name"], "task_categories": tasks,
        "tags": list(dict.fromkeys(tags)), "size_categories": [size_category(ctx["samples"])],
        "configs": [{"config_name": "default", "default": True,
                     "data_files": [{"split": s["name"], "path": s["pattern"]} for s in ctx["splits"]]}],
    }
    if langs:
        meta["language"] = langs
    return meta


def render_readme(env, ctx: dict[str, Any], datasheet: str) -> str:
    """README.md: YAML metadata + the card body (which embeds the datasheet)."""
    header = yaml.safe_dump(hub_metadata(ctx), sort_keys=False, allow_unicode=True)
    body = env.get_template("README.md.j2").render(datasheet=_demote(datasheet), **ctx)
    return f"---\n{header}---\n\n{body}"


def _demote(md: str) -> str:
    """Headings one level down, and the datasheet's title dropped (the card has its own)."""
    out = []
    for i, line in enumerate(md.splitlines()):
        if line.startswith("# ") and not out:
            continue
        out.append("#" + line if line.startswith("#") else line)
    return "\n".join(out).strip() + "\n"
