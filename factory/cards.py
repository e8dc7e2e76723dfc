"""Datasheet, Hugging Face dataset card and Croissant JSON-LD of a finished dataset.

All three derive from the dataset's `manifest.json`, `index.parquet` and audit result; the
Markdown comes from the jinja2 templates in the top-level `cards/` folder:

- ``datasheet.md``: the questions of "Datasheets for Datasets" (Gebru et al., 2021), incl.
  intended and prohibited uses under the EU AI Act (Reg. 2024/1689);
- ``README.md``: a Hub dataset card (YAML metadata: license, task categories, tags, size
  category, ``configs`` with ``data_files`` per split) whose body is the datasheet;
- ``croissant.json``: Croissant 1.0 JSON-LD (FileSet of the shards, FileObject of the index,
  a RecordSet over the index's columns) with the Responsible-AI (RAI 1.0) fields.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd
import yaml

from factory.errors import FactoryError

# The templates live in the top-level cards/ folder; factory/data/cards links to it so that
# wheels (which only carry the package) include them too.
CARDS_DIR = Path(__file__).parent / "data" / "cards"
DATASHEET, README, CROISSANT = "datasheet.md", "README.md", "croissant.json"

SIGNAL_NAMES = {"ecg": "electrocardiogram (ECG)", "ppg": "photoplethysmogram (PPG)",
                "eda": "electrodermal activity (EDA)", "rsp": "respiration (RSP)", "emg": "electromyogram (EMG)"}
BACKEND_LICENSES = {  # the software that makes each modality (model weights: see `models`)
    "neurokit2": "MIT (NeuroKit2)",
    "espeak": "GPL-3.0-or-later (eSpeak NG program; its output is not restricted)",
    "procedural": "Apache-2.0 (affect-factory)",
    "transformers": "Apache-2.0 (transformers library); the model's own license applies",
    "coqui": "MPL-2.0 (Coqui TTS library); the model's own license applies (XTTS: CPML, non-commercial)",
    "diffusers": "Apache-2.0 (diffusers library); the model's own license applies",
}
MODEL_FIELDS = ("model", "text_model", "critic", "controlnet")
EXTENSIONS = {"json": "labels, demographics, episode timestamps, targets and measurements (JSON)",
              "physio.npy": "physiological signals, channels x samples (NumPy .npy, no pickle)",
              "flac": "speech (FLAC)", "txt": "transcript (UTF-8 text)", "png": "face (PNG)"}


# ---------------------------------------------------------------- context

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
            meta = yaml.safe_load(text.split("---", 2)[1]) or {}
            lic = meta.get("license")
            return ", ".join(lic) if isinstance(lic, list) else (str(lic) if lic else None)
    except Exception:  # a card we cannot read is reported as unknown, never fatal
        return None
    return None


def _models(settings: dict[str, Any]) -> list[dict[str, str]]:
    refs = [(f, settings.get(f)) for f in MODEL_FIELDS if settings.get(f)]
    refs += [(f"models.{loc}", ref) for loc, ref in (settings.get("models") or {}).items()]
    out = []
    for field, ref in refs:
        lic = _model_license(str(ref))
        out.append({"field": field, "ref": str(ref),
                    "license": lic or f"not recorded: check the model card of {ref}"})
    return out


def _extensions(index: pd.DataFrame) -> list[str]:
    return [c.split(".", 1)[1] for c in index.columns if c.startswith("tar_size.")]


def _column_groups(index: pd.DataFrame) -> list[dict[str, Any]]:
    groups: dict[str, list[str]] = {}
    for col in index.columns:
        head = col.split(".", 1)[0] if "." in col else "sample"
        groups.setdefault(head, []).append(col)
    return [{"name": k, "columns": v} for k, v in groups.items()]


def context(ds, audit: dict[str, Any]) -> dict[str, Any]:
    """Everything the templates may use, derived from manifest, index and audit."""
    from factory.audit import audit_markdown

    m, index = ds.manifest, ds.index
    recipe = m.get("recipe") or {}
    n = len(index)
    mods = []
    for name, settings in (recipe.get("modalities") or {}).items():
        if settings is None:
            continue
        gen = (m.get("generators") or {}).get(name, {})
        backend = gen.get("backend") or settings.get("backend")
        mods.append({"name": name, "backend": backend, "versions": gen.get("versions") or {},
                     "settings": {k: v for k, v in settings.items() if v not in (None, {}, [])},
                     "models": _models(settings),
                     "license": gen.get("licence") or BACKEND_LICENSES.get(backend, "see the backend's package"),
                     "signals": [SIGNAL_NAMES.get(s, s) for s in settings.get("signals") or []]})
    splits = []
    for split, rows in index.groupby("split", sort=False):
        shards = sorted({s for s in rows["shard"]})
        splits.append({"name": str(split), "samples": int(len(rows)), "identities": int(rows["identity"].nunique()),
                       "shards": len(shards), "pattern": f"{split}-*.tar"})
    exts = _extensions(index)
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
        "extensions": [{"ext": e, "what": EXTENSIONS.get(e, "file")} for e in exts],
        "columns": _column_groups(index), "n_columns": len(index.columns),
        "shards": [{"name": k, **v} for k, v in sorted((m.get("shards") or {}).items())],
        "index": m.get("index") or {}, "packages": m.get("packages") or {},
        "recipe_yaml": yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True).rstrip(),
        "audit": audit, "audit_md": audit_markdown(audit, heading="###"), "met_rates": met_rates,
        "thresholds": audit["thresholds"],
        "bytes": int(sum(v.get("size", 0) for v in (m.get("shards") or {}).values())),
    }


# ---------------------------------------------------------------- rendering

def _env():
    import jinja2

    if not (CARDS_DIR / "datasheet.md.j2").is_file():
        raise FactoryError(f"card templates not found in {CARDS_DIR}; is affect-factory installed from "
                           f"its source tree (pip install -e .)?")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(CARDS_DIR)), autoescape=False,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["pct"] = lambda x: "–" if x is None else f"{x:.1%}"
    env.filters["num"] = lambda x, d=3: "–" if x is None else f"{x:.{d}f}"
    return env


def render_datasheet(ctx: dict[str, Any]) -> str:
    """datasheet.md text."""
    return _env().get_template("datasheet.md.j2").render(**ctx)


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


def render_readme(ctx: dict[str, Any], datasheet: str) -> str:
    """README.md: YAML metadata + the card body (which embeds the datasheet)."""
    header = yaml.safe_dump(hub_metadata(ctx), sort_keys=False, allow_unicode=True)
    body = _env().get_template("README.md.j2").render(datasheet=_demote(datasheet), **ctx)
    return f"---\n{header}---\n\n{body}"


def _demote(md: str) -> str:
    """Headings one level down, and the datasheet's title dropped (the card has its own)."""
    out = []
    for i, line in enumerate(md.splitlines()):
        if line.startswith("# ") and not out:
            continue
        out.append("#" + line if line.startswith("#") else line)
    return "\n".join(out).strip() + "\n"


# ---------------------------------------------------------------- croissant

def _croissant_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "sc:Boolean"
    if pd.api.types.is_integer_dtype(series):
        return "sc:Integer"
    if pd.api.types.is_float_dtype(series):
        return "sc:Float"
    if series.dtype == object:
        vals = series.dropna()
        if len(vals) and all(isinstance(v, (bool, np.bool_)) for v in vals):
            return "sc:Boolean"
    return "sc:Text"


def croissant_jsonld(ctx: dict[str, Any], index: pd.DataFrame) -> dict[str, Any]:
    """Croissant 1.0 JSON-LD with the Responsible-AI (RAI 1.0) fields."""
    audit = ctx["audit"]
    fields = []
    for col in index.columns:
        fields.append({"@type": "cr:Field", "@id": f"samples/{col}", "name": col,
                       "description": _column_description(col),
                       "dataType": _croissant_type(index[col]),
                       "source": {"fileObject": {"@id": "index.parquet"}, "extract": {"column": col}}})
    mods = ", ".join(ctx["modality_names"])
    gens = "; ".join(f"{x['name']}: {x['backend']} ({', '.join(f'{k} {v}' for k, v in x['versions'].items())})"
                     for x in ctx["modalities"])
    models = "; ".join(f"{x['name']}.{mm['field']} = {mm['ref']} (license: {mm['license']})"
                       for x in ctx["modalities"] for mm in x["models"]) or "none (procedural/simulated backends)"
    doc = {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": ["http://mlcommons.org/croissant/1.0", "http://mlcommons.org/croissant/RAI/1.0"],
        "name": ctx["name"],
        "description": f"{ctx['description']} Synthetic multimodal emotion dataset ({mods}) made by affect-factory; "
                       f"{ctx['samples']} samples of {ctx['identities']} synthetic persons.",
        "license": ctx["license"], "version": ctx["version"],
        "url": f"https://huggingface.co/datasets/{ctx['name']}",
        "citeAs": f"{ctx['name']} {ctx['version']}, a synthetic dataset generated by affect-factory "
                  f"(recipe hash {ctx['recipe_hash']}).",
        "keywords": ["synthetic data", "emotion", "affective computing", *ctx["modality_names"]],
        "isAccessibleForFree": True,
        "distribution": [
            {"@type": "cr:FileObject", "@id": "index.parquet", "name": "index.parquet",
             "description": "One row per sample: labels, demographics, targets and measurements, shard offsets.",
             "contentUrl": "index.parquet", "encodingFormat": "application/x-parquet",
             "sha256": ctx["index"].get("sha256", "")},
            *[{"@type": "cr:FileSet", "@id": f"shards-{s['name']}", "name": f"shards-{s['name']}",
               "description": f"WebDataset shards of the {s['name']} split ({s['samples']} samples, {s['shards']} shards).",
               "encodingFormat": "application/x-tar", "includes": s["pattern"]} for s in ctx["splits"]],
        ],
        "recordSet": [{"@type": "cr:RecordSet", "@id": "samples", "name": "samples",
                       "description": "The index: one record per sample; files are in the shards, by key.",
                       "key": {"@id": "samples/key"}, "field": fields}],
        # ------------------------------------------------ Responsible AI (RAI 1.0)
        "rai:dataCollection": (
            f"No data was collected from people. Every sample is synthesized from a recipe (seed {ctx['seed']}): a "
            f"planner allots exact quotas of emotion and demographic factors, then generators render each modality "
            f"along one shared episode timeline ({gens}). Models: {models}."),
        "rai:dataCollectionType": ["Simulation", "Software Generated"],
        "rai:dataCollectionMissingData": (
            "Measurements a generator could not make on its output are NaN in the index, with a note column "
            "(e.g. a respiration rate needs enough breathing cycles in the episode)."),
        "rai:dataCollectionRawData": "None: the samples are generated, not recorded.",
        "rai:dataPreprocessingProtocol": [
            "Generators measure what they produced (heart rate, skin conductance, F0, speaking rate, facial action "
            "units, CLIP critic); targets and measurements are both kept, and `*.met.*` flags say whether each "
            "measurement met its target. No sample is filtered out."],
        "rai:dataAnnotationProtocol": (
            "Labels are the generation targets (emotion category, intensity, valence/arousal/dominance, "
            "demographics); they are correct by construction as requests, and the measured features say how "
            "faithfully each output realizes them."),
        "rai:annotationsPerItem": "1 (the requested label) plus machine measurements of the output",
        "rai:machineAnnotationTools": [x["backend"] for x in ctx["modalities"]],
        "rai:dataBiases": [
            "Emotion expressions follow literature prototypes (EMFACS action units, vocal-cue tables, autonomic "
            "response patterns); real expressions vary far more across people, cultures and contexts.",
            "Demographic shares follow the recipe, not any real population; balanced factors: "
            + (", ".join(" x ".join(b) for b in ctx["balance"]) or "none") + ".",
            f"Fairness audit: {'passed' if audit['passed'] else 'FAILED'}"
            + (f" ({'; '.join(audit['broken'])})" if audit["broken"] else "") + "; see audit.md.",
        ],
        "rai:dataUseCases": [
            "Research on emotion recognition methods, robustness and fairness; augmentation and balancing of "
            "real datasets; testing pipelines; teaching.",
            "Prohibited: emotion inference on people in workplaces or education institutions (EU AI Act, "
            "Art. 5(1)(f)), except for medical or safety reasons.",
        ],
        "rai:dataLimitations": [
            "Synthetic, prototypical expressions: models trained only on this data are not validated for real "
            "people. Emotion recognition systems are high-risk under the EU AI Act (Annex III 1(c)) and deployers "
            "must inform exposed persons (Art. 50(3)).",
        ],
        "rai:dataSocialImpact": (
            "Emotion recognition can be used for surveillance, manipulation and discrimination; it is banned in "
            "workplaces and education (EU AI Act Art. 5(1)(f)) and high-risk elsewhere (Annex III 1(c))."),
        "rai:personalSensitiveInformation": [
            "None about real persons: identities are synthetic. Samples carry synthetic demographic attributes "
            "(" + ", ".join(ctx["population"]) + ") by design."],
        "rai:dataReleaseMaintenancePlan": (
            "Regenerate from the recipe with the same affect-factory and model versions for byte-identical shards; "
            "new versions get a new version number and recipe hash."),
    }
    return doc


def _column_description(col: str) -> str:
    if col.startswith("tar_offset."):
        return f"byte offset of the {col.split('.', 1)[1]} member in the shard tar"
    if col.startswith("tar_size."):
        return f"size in bytes of the {col.split('.', 1)[1]} member in the shard tar"
    parts = col.split(".")
    if len(parts) >= 3 and parts[1] in ("target", "measured", "met"):
        what = {"target": "requested value", "measured": "value measured on the output",
                "met": "whether the measured value met its target"}[parts[1]]
        return f"{parts[0]}: {what} of {'.'.join(parts[2:])}"
    return col


# Croissant 1.0 @context (as in the specification and mlcroissant's make_context()).
CROISSANT_CONTEXT = {
    "@language": "en", "@vocab": "https://schema.org/", "citeAs": "cr:citeAs", "column": "cr:column",
    "conformsTo": "dct:conformsTo", "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/", "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"}, "dct": "http://purl.org/dc/terms/",
    "examples": {"@id": "cr:examples", "@type": "@json"}, "extract": "cr:extract", "field": "cr:field",
    "fileProperty": "cr:fileProperty", "fileObject": "cr:fileObject", "fileSet": "cr:fileSet",
    "format": "cr:format", "includes": "cr:includes", "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath", "key": "cr:key", "md5": "cr:md5", "parentField": "cr:parentField",
    "path": "cr:path", "recordSet": "cr:recordSet", "references": "cr:references", "regex": "cr:regex",
    "repeated": "cr:repeated", "replace": "cr:replace", "sc": "https://schema.org/",
    "separator": "cr:separator", "source": "cr:source", "subField": "cr:subField", "transform": "cr:transform",
}


# ---------------------------------------------------------------- entry point

def write_cards(ds, audit: Optional[dict[str, Any]] = None) -> dict[str, str]:
    """Write datasheet.md, README.md and croissant.json; returns {name: path}.

    `audit` is the result of factory.audit.run_audit; without it DIR/audit.json is used if it
    was made from this index and thresholds, else the audit runs first (a card never goes out
    without one).
    """
    if isinstance(ds, str) or hasattr(ds, "__fspath__"):
        from factory.document import open_finished

        ds = open_finished(str(ds))
    if audit is None:
        from factory.audit import current_audit

        audit = current_audit(ds)
    ctx = context(ds, audit)
    sheet = render_datasheet(ctx)
    return {
        DATASHEET: ds.write_text(DATASHEET, sheet),
        README: ds.write_text(README, render_readme(ctx, sheet)),
        CROISSANT: ds.write_text(CROISSANT, json.dumps(croissant_jsonld(ctx, ds.index), indent=2) + "\n"),
    }
