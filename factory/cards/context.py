"""Everything the card templates may use, from a finished dataset and its audit.

Files, licences and model references come from what each generator declared in the manifest
(`factory.generators.declaration`), so a new backend or modality needs no change here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import pandas as pd
import yaml

from factory.dataset import Dataset, member_kind
from factory.recipe import load_yaml
from factory.uses import ai_act


def _model_license(ref: str) -> Optional[str]:
    """The `license:` of a model's card if it is available offline (local folder or Hub cache)."""
    try:
        from factory.models import looks_like_path

        readme = None
        if looks_like_path(ref):
            p = Path(ref).expanduser() / "README.md"
            readme = p if p.is_file() else None
        else:
            from huggingface_hub import try_to_load_from_cache

            hit = try_to_load_from_cache(ref, "README.md")
            readme = Path(hit) if isinstance(hit, str) else None
        if readme is None:
            return None
        text = readme.read_text(encoding="utf-8", errors="replace")
        if text.startswith("---"):
            meta = load_yaml(text.split("---", 2)[1], str(readme))[0] or {}
            lic = meta.get("license")
            return ", ".join(lic) if isinstance(lic, list) else (str(lic) if lic else None)
    except Exception:  # a card we cannot read is reported as unknown, never fatal
        return None
    return None


def _models(refs: dict[str, str]) -> list[dict[str, str]]:
    """Each model reference with the licence of its model card (when readable offline)."""
    return [{"field": field, "ref": ref, "license": _model_license(ref) or f"not recorded: check the model card of {ref}"}
            for field, ref in refs.items()]


def member_kinds(ds: Dataset) -> list[dict[str, Any]]:
    """What each kind of tar member in the index is (extension, media type, description)."""
    return [member_kind(ds.manifest, c.split(".", 1)[1]) for c in ds.index.columns if c.startswith("tar_size.")]


def _column_groups(index: pd.DataFrame) -> list[dict[str, Any]]:
    groups: dict[str, list[str]] = {}
    for col in index.columns:
        head = col.split(".", 1)[0] if "." in col else "sample"
        groups.setdefault(head, []).append(col)
    return [{"name": k, "columns": v} for k, v in groups.items()]


def context(ds: Dataset, audit: dict[str, Any], audit_md: str) -> dict[str, Any]:
    """Everything the templates may use, derived from manifest, index and audit."""
    m, index = ds.manifest, ds.index
    recipe = ds.recipe
    n = len(index)
    mods = []
    for name, settings in (recipe.get("modalities") or {}).items():
        if settings is None:
            continue
        gen = (m.get("generators") or {}).get(name, {})       # what the generator declared (factory.generators)
        mods.append({"name": name, "backend": gen.get("backend") or settings.get("backend"),
                     "versions": gen.get("versions") or {},
                     "settings": {k: v for k, v in settings.items() if v not in (None, {}, [])},
                     "models": _models(gen.get("models") or {}),
                     "license": gen.get("licence") or "see the backend's package", "summary": gen.get("summary") or ""})
    splits = []
    for split, rows in index.groupby("split", sort=False):
        shards = sorted({s for s in rows["shard"]})
        splits.append({"name": str(split), "samples": int(len(rows)), "identities": int(rows["identity"].nunique()),
                       "shards": len(shards), "pattern": f"{split}-*.tar"})
    rep = audit["representation"]
    factors = [{"name": f, "rows": v["rows"]} for f, v in rep["factors"].items() if v.get("rows")]
    cells = [{"name": k, "rows": v["rows"], "n": len(v["rows"]),
              "min": min(r["count"] for r in v["rows"]), "max": max(r["count"] for r in v["rows"])}
             for k, v in rep["cells"].items() if v.get("rows")]
    met_rates = {mod: v["overall"] for mod, v in audit["fidelity"]["modalities"].items()}
    return {
        "name": m.get("name"), "version": m.get("version"), "description": recipe.get("description", ""),
        "license": recipe.get("license", "other"), "samples": n, "seed": recipe.get("seed"),
        "recipe_hash": m.get("recipe_hash"), "format": m.get("format"),
        "identities": int(index["identity"].nunique()) if "identity" in index else None,
        "per_identity": round(n / max(index["identity"].nunique(), 1), 2) if "identity" in index else None,
        "emotions": list((recipe.get("emotions") or {})), "episode": recipe.get("episode") or {},
        "intensity": recipe.get("intensity") or {}, "balance": recipe.get("balance") or [],
        "population": {f: list(v) for f, v in (recipe.get("population") or {}).items()},
        "complement": recipe.get("complement"),
        "complement_source": m.get("complement"),   # file name, rows, SHA-256 (never contents)
        "modalities": mods, "modality_names": [x["name"] for x in mods],
        "splits": splits, "factors": factors, "cells": cells,
        "extensions": [{"ext": k["extension"], "what": k["description"], "media_type": k["media_type"]}
                       for k in member_kinds(ds)],
        "columns": _column_groups(index), "n_columns": len(index.columns),
        "shards": [{"name": k, **v} for k, v in sorted((m.get("shards") or {}).items())],
        "index": m.get("index") or {}, "packages": m.get("packages") or {},
        "recipe_yaml": yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True).rstrip(),
        "audit": audit, "audit_md": audit_md, "met_rates": met_rates,
        "thresholds": audit["thresholds"], "ai_act": ai_act(),
        "bytes": int(sum(v.get("size", 0) for v in (m.get("shards") or {}).values())),
    }
