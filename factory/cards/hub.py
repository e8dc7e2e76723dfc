"""The Hugging Face Hub dataset card: its YAML metadata and its Markdown (which embeds the datasheet)."""
from __future__ import annotations

from typing import Any

import yaml


# The Hub's task category and a tag for each kind of file a generator declared (its media type).
HUB_KINDS = {"image": ("image-classification", "image"), "audio": ("audio-classification", "audio"),
             "other": ("tabular-classification", "time-series")}


def size_category(n: int) -> str:
    """The Hub's size_categories value for n samples."""
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M")):
        if n < limit:
            return label
    return "100M<n<1B"


def hub_metadata(ctx: dict[str, Any]) -> dict[str, Any]:
    """The YAML header of the Hub dataset card."""
    kinds = [HUB_KINDS.get(e["media_type"].split("/")[0], HUB_KINDS["other"]) for e in ctx["extensions"]
             if e["media_type"] not in ("application/json", "text/plain")]      # labels and transcripts
    tasks = [task for task, _ in HUB_KINDS.values() if any(task == k[0] for k in kinds)] or ["tabular-classification"]
    tags = ["synthetic", "emotion-recognition", "affective-computing", "webdataset", "affect-factory",
            *ctx["modality_names"], *(tag for _, tag in kinds)]
    spoken = any(task == "audio-classification" for task, _ in kinds)
    langs = sorted({str(loc).split("-")[0] for loc in ctx["population"].get("locale", [])}) if spoken else []
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
