"""Datasheet, Hugging Face dataset card and Croissant JSON-LD of a finished dataset.

All three derive from the dataset's `manifest.json`, `index.parquet` and audit result
(`context`); the Markdown comes from the jinja2 templates in the top-level `cards/` folder
(`hub` adds the Hub's YAML metadata, `croissant` builds the JSON-LD):

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
from typing import Any

from factory.cards.context import context
from factory.cards.croissant import croissant_jsonld
from factory.cards.hub import render_readme
from factory.dataset import CARD, CROISSANT, DATASHEET, Dataset
from factory.errors import FactoryError

# The templates live in the top-level cards/ folder; factory/data/cards links to it so that
# wheels (which only carry the package) include them too.
CARDS_DIR = Path(__file__).parent.parent / "data" / "cards"


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


def render_datasheet(ctx: dict[str, Any], env=None) -> str:
    """datasheet.md text."""
    return (env or _env()).get_template("datasheet.md.j2").render(**ctx)


def write_cards(ds: Dataset, audit: dict[str, Any], audit_md: str) -> dict[str, str]:
    """Write datasheet.md, README.md and croissant.json; returns {name: path}.

    `audit` is the audit result (as in audit.json) and `audit_md` its Markdown, which the
    datasheet embeds.
    """
    ctx, env = context(ds, audit, audit_md), _env()
    sheet = render_datasheet(ctx, env)
    return {
        DATASHEET: ds.write_text(DATASHEET, sheet),
        CARD: ds.write_text(CARD, render_readme(env, ctx, sheet)),
        CROISSANT: ds.write_text(CROISSANT, json.dumps(croissant_jsonld(ctx, ds.index), indent=2) + "\n"),
    }
