"""report.html: one offline, self-contained page to look at a finished dataset.

It shows the audit verdict and plots, counts per split, one synthetic person's voice in every
emotion side by side (players, the F0 contour measured on each FLAC, the measured change against
the person's neutral voice), and a table of samples (a few per emotion) with their images,
audio players, transcripts and small signal plots: each member is
shown by the media type its generator declared. Media are read straight from the shards by
the index's tar offsets and inlined as ``data:`` URIs (images are shrunk to thumbnails,
``.npy`` signals are drawn as inline SVG), so the page needs no server, no network and no
other file.
"""
from __future__ import annotations

import base64
import html
import io
import json
import math
from typing import Any, Optional

import numpy as np
import pandas as pd

from factory.dataset import REPORT, Dataset, demographic_factors, member_kind
from factory.png import encode_png
from factory.uses import NOTICE

_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def thumbnail_png(image: bytes, size: int = 128) -> bytes:
    """A small PNG of an encoded image, at most `size` pixels wide and high."""
    from PIL import Image

    im = Image.open(io.BytesIO(image))
    im.thumbnail((size, size))
    return encode_png(im.convert("RGB"), optimize=True)


def signals_svg(signals: np.ndarray, names: list[str], rate: Optional[float] = None,
                   events: Optional[dict[str, float]] = None, width: int = 260, row: int = 26,
                   max_rows: int = 8) -> str:
    """Small inline-SVG sparklines, one row per channel (at most `max_rows`, spread evenly over
    the channels, e.g. of a 32-channel EEG), with episode events as vertical lines."""
    signals = np.atleast_2d(np.asarray(signals, dtype=float))
    if signals.shape[0] > signals.shape[1]:  # samples x channels -> channels x samples
        signals = signals.T
    if len(signals) > max_rows:
        keep = np.unique(np.linspace(0, len(signals) - 1, max_rows).round().astype(int))
        signals = signals[keep]
        names = [names[i] if i < len(names) else f"ch{i}" for i in keep]
    n = signals.shape[1]
    step = max(1, n // width)
    parts = [f'<svg class="signals" xmlns="http://www.w3.org/2000/svg" width="{width + 34}" '
             f'height="{row * len(signals)}" role="img" aria-label="signals">']
    for i, sig in enumerate(signals):
        s = sig[::step]
        s = np.where(np.isfinite(s), s, np.nanmedian(s) if np.isfinite(s).any() else 0.0)
        lo, hi = float(np.min(s)), float(np.max(s))
        span = (hi - lo) or 1.0
        xs = np.linspace(34, 34 + width, len(s))
        ys = i * row + row - 3 - (s - lo) / span * (row - 6)
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
        name = html.escape(names[i] if i < len(names) else f"ch{i}")
        parts.append(f'<text x="0" y="{i * row + row / 2 + 4:.0f}" font-size="10">{name}</text>')
        parts.append(f'<polyline fill="none" stroke="{_COLORS[i % len(_COLORS)]}" stroke-width="1" points="{pts}"/>')
    if rate and events:
        total = n / rate
        for label, t in events.items():
            if t is not None and 0 < t < total:
                x = 34 + t / total * width
                parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{row * len(signals)}" stroke="#999" '
                             f'stroke-dasharray="2,2"><title>{html.escape(label)} {t:g} s</title></line>')
    parts.append("</svg>")
    return "".join(parts)


def pick_samples(index: pd.DataFrame, per_emotion: int = 3, limit: int = 40) -> pd.DataFrame:
    """A few samples per emotion, spread over splits and persons, in a stable order."""
    rows = []
    for _, group in index.groupby("emotion", sort=True):
        group = group.sort_values(["split", "identity", "index"] if "identity" in group else ["index"])
        step = max(1, len(group) // per_emotion)
        rows.append(group.iloc[::step].head(per_emotion))
    out = pd.concat(rows) if rows else index.head(0)
    return out.head(limit)


def _media(ds: Dataset, row: pd.Series, exts: list[str]) -> dict[str, Any]:
    """Inline media of one sample, by the media type its generator declared for each member."""
    out: dict[str, Any] = {"images": [], "audio": [], "text": None, "signals": [], "errors": []}
    meta, arrays = {}, []
    for ext in exts:
        off, size = row.get(f"tar_offset.{ext}"), row.get(f"tar_size.{ext}")
        if off is None or size is None or (isinstance(off, float) and math.isnan(off)):
            continue
        kind = member_kind(ds.manifest, ext)
        media = kind["media_type"]
        try:
            data = ds.read_member(row["shard"], int(off), int(size))
            if media.startswith("image/"):
                out["images"].append((ext, _data_uri("image/png", thumbnail_png(data))))
            elif media.startswith("audio/"):
                out["audio"].append((ext, _data_uri(media, data)))
            elif media == "application/json":
                meta = json.loads(data)
            elif media.startswith("text/"):
                out["text"] = data.decode("utf-8", errors="replace")
            elif media == "application/x-npy":
                arrays.append((ext, kind["modality"], data))
        except Exception as exc:  # one unreadable member must not hide the rest of the page
            out["errors"].append(f"{ext}: {type(exc).__name__}: {exc}")
    events = {k: row.get(f"episode.{k}") for k in ("onset", "apex", "offset")}
    for ext, modality, data in arrays:      # channels and rate come from the sample's JSON
        try:
            arr = np.load(io.BytesIO(data), allow_pickle=False)
            labels = meta.get(modality) or {}
            names = labels.get("channels") or [f"ch{i}" for i in range(min(arr.shape))]
            rate = labels.get("sampling_rate") or row.get(f"{modality}.sampling_rate")
            out["signals"].append(signals_svg(arr, names, float(rate) if rate else None, events))
        except Exception as exc:
            out["errors"].append(f"{ext}: {type(exc).__name__}: {exc}")
    return out


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ name }} {{ version }}: affect-factory report</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
h1{margin-bottom:.2em} .sub{color:#555;margin-top:0}
.ok{color:#137333;font-weight:bold} .bad{color:#c5221f;font-weight:bold}
table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #ddd;padding:4px 6px;vertical-align:top}
th{background:#f4f4f4} .plots img{max-width:100%;border:1px solid #eee;margin:4px 0}
.warn{background:#fff4e5;border-left:4px solid #f29900;padding:.5em 1em}
audio{width:220px} .met{font-family:monospace}
</style></head><body>
<h1>{{ name }} {{ version }}</h1>
<p class="sub">{{ description }}</p>
<p>{{ samples }} synthetic samples of {{ identities }} synthetic persons; modalities: {{ modalities }}.
Splits: {% for s, n in splits.items() %}{{ s }} {{ n }}{{ ", " if not loop.last }}{% endfor %}.
Fairness audit: {% if audit.passed %}<span class="ok">passed</span>{% else %}<span class="bad">FAILED</span>{% endif %}
({{ judged }} checks judged, {{ audit.not_judged }} not judged). Files: <a href="datasheet.md">datasheet.md</a>,
<a href="audit.md">audit.md</a>, <a href="README.md">README.md</a>, <a href="croissant.json">croissant.json</a>.</p>
<div class="warn"><b>Prohibited uses:</b> {{ notice }} The expressions are synthetic prototypes, not people's feelings.</div>
{% if audit.broken %}<h2>Broken thresholds</h2><ul>{% for b in audit.broken %}<li>{{ b }}</li>{% endfor %}</ul>{% endif %}
<h2>Audit plots</h2>
<div class="plots">{% for p in plots %}<figure><img src="{{ p.uri }}" alt="{{ p.name }}"><figcaption>{{ p.name }}</figcaption></figure>{% endfor %}</div>
{% if voice %}<h2>One voice, every emotion</h2>
<p>Person {{ voice.identity }} ({{ voice.locale }}): neutral first, then each emotion. The F0 contour
(semitones re 27.5 Hz) is measured on each FLAC (YIN, as in the labels); the dashed line is the person's
neutral mean. Changes are against the person's neutral rendering of the same line.</p>
<table id="voice"><thead><tr><th>emotion</th><th>listen</th><th>F0 contour</th><th>measured change</th></tr></thead><tbody>
{% for v in voice.rows %}<tr class="voice"><td>{{ v.emotion }} ({{ v.intensity }})<br><i>{{ v.text }}</i></td>
<td><audio controls preload="metadata" src="{{ v.audio }}" title="{{ v.key }}.flac"></audio></td>
<td>{{ v.svg | safe }}</td><td class="met">{% for k, c in v.change.items() %}{{ k }} {{ c }}<br>{% endfor %}</td></tr>
{% endfor %}</tbody></table>{% endif %}
<h2>Samples</h2>
<p>{{ rows | length }} of {{ samples }} samples ({{ per_emotion }} per emotion at most). ✓/✗: measured value met its target.</p>
<table id="samples"><thead><tr><th>key</th><th>split</th><th>emotion</th><th>person</th>{% for f in factors %}<th>{{ f }}</th>{% endfor %}
<th>images</th><th>audio</th><th>signals</th><th>targets met</th></tr></thead><tbody>
{% for r in rows %}<tr class="sample" data-key="{{ r.key }}"><td>{{ r.key }}</td><td>{{ r.split }}</td><td>{{ r.emotion }} ({{ r.intensity }})</td><td>{{ r.identity }}</td>
{% for f in factors %}<td>{{ r.factors[f] }}</td>{% endfor %}
<td>{% for ext, uri in r.media.images %}<img class="face" src="{{ uri }}" alt="{{ r.key }}.{{ ext }}" title="{{ ext }}">{% else %}–{% endfor %}</td>
<td>{% for ext, uri in r.media.audio %}<audio controls preload="metadata" src="{{ uri }}" title="{{ r.key }}.{{ ext }}"></audio>{% endfor %}
{% if r.media.text %}<div><i>{{ r.media.text }}</i></div>{% endif %}{% if not r.media.audio and not r.media.text %}–{% endif %}</td>
<td>{% for svg in r.media.signals %}{{ svg | safe }}{% else %}–{% endfor %}</td>
<td class="met">{% for m, v in r.met.items() %}{{ m }} {{ "✓" if v else "✗" }}<br>{% endfor %}{% for e in r.media.errors %}<span class="bad">{{ e }}</span><br>{% endfor %}</td></tr>
{% endfor %}</tbody></table>
<p class="sub">Made by affect-factory {{ tool }} from manifest.json, index.parquet and audit.json.</p>
</body></html>
"""


_VOICE_CHANGES = (("f0_mean_st", "F0", "{:+.1f} st"), ("f0_sd_st", "F0 s.d.", "x{:.2f}"),
                  ("level_db", "level", "{:+.1f} dB"), ("rate_syl_s", "rate", "x{:.2f}"),
                  ("alpha_ratio_db", "alpha ratio", "{:+.1f} dB"), ("hnr_db", "HNR", "{:+.1f} dB"),
                  ("jitter_pct", "jitter", "{:+.2f} pt"))


def voice_panel(ds, index: pd.DataFrame) -> Optional[dict[str, Any]]:
    """One person's speech in every emotion (the person with the most emotions, a neutral
    sample first): players, measured F0 contours and changes; None without speech."""
    if "tar_offset.flac" not in index or "speech.measured.f0_mean_st" not in index:
        return None
    speech = index[index["tar_offset.flac"].notna()]
    if speech.empty:
        return None
    counts = speech.groupby("identity")["emotion"].agg(lambda e: (e.nunique(), "neutral" in set(e)))
    person = max(sorted(counts.index), key=lambda i: (counts[i][1], counts[i][0]))
    mine = speech[speech["identity"] == person].sort_values("index")
    picks = mine.drop_duplicates("emotion")
    picks = pd.concat([picks[picks["emotion"] == "neutral"], picks[picks["emotion"] != "neutral"]])
    rows = []
    for _, row in picks.iterrows():
        flac = ds.read_member(row["shard"], int(row["tar_offset.flac"]), int(row["tar_size.flac"]))
        rows.append({"key": row["key"], "emotion": row["emotion"], "intensity": f"{row['intensity']:.2f}",
                     "text": row.get("speech.text", ""), "audio": _data_uri("audio/flac", flac),
                     "svg": _contour_svg(flac, row), "change": _voice_change(row)})
    return {"identity": person, "locale": picks.iloc[0].get("speech.locale", ""), "rows": rows}


def _voice_change(row: pd.Series) -> dict[str, str]:
    out = {}
    for key, name, fmt in _VOICE_CHANGES:
        m, r = row.get(f"speech.measured.{key}"), row.get(f"speech.reference.{key}")
        if m is None or (key != "f0_mean_st" and r is None):
            continue
        value = m if key == "f0_mean_st" else (m / r if fmt.startswith("x") else m - r)
        out[name] = fmt.format(value) if math.isfinite(value) else "–"
    return out


def _contour_svg(flac: bytes, row: pd.Series, width: int = 260, height: int = 70) -> str:
    """Inline SVG of the F0 contour measured on the utterance (semitones re 27.5 Hz)."""
    import soundfile as sf

    from factory.speech.measure import f0_contour
    audio, sr = sf.read(io.BytesIO(flac), dtype="float32")
    start, end = row.get("speech.start", 0.0), row.get("speech.end", len(audio) / sr)
    c = f0_contour(audio[int(start * sr):int(end * sr)], sr)
    st = 12 * np.log2(c.f0 / 27.5)
    ref = row.get("speech.reference.f0_mean_st")
    lo, hi = 20.0, 60.0                              # about 90 Hz to 880 Hz: men, women and children
    x = 30 + c.times / max(c.times[-1], 1e-3) * (width - 34)
    y = height - 4 - (np.clip(st, lo, hi) - lo) / (hi - lo) * (height - 8)
    parts = [f'<svg class="contour" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="F0 contour"><text x="0" y="10" font-size="9">{hi:.0f} st</text>'
             f'<text x="0" y="{height - 2}" font-size="9">{lo:.0f} st</text>']
    segment: list[str] = []
    for xi, yi, ok in [*zip(x, y, np.isfinite(st)), (0.0, 0.0, False)]:
        if ok:
            segment.append(f"{xi:.1f},{yi:.1f}")
        elif segment:
            parts.append(f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{" ".join(segment)}"/>')
            segment = []
    if ref is not None and math.isfinite(ref):
        yr = height - 4 - (np.clip(ref, lo, hi) - lo) / (hi - lo) * (height - 8)
        parts.append(f'<line x1="30" x2="{width}" y1="{yr:.1f}" y2="{yr:.1f}" stroke="#999" stroke-dasharray="3,2"/>')
    parts.append("</svg>")
    return "".join(parts)


def _met(row: pd.Series, cols: list[str]) -> dict[str, bool]:
    out = {}
    for c in cols:
        v = row.get(c)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        out[c.replace(".met.", ":")] = bool(v)
    return out


def render_report(ds: Dataset, audit: dict[str, Any], plots: dict[str, bytes], per_emotion: int = 3,
                  limit: int = 40) -> str:
    """The report page as an HTML string; `plots` are the audit's PNG plots by name."""
    import jinja2

    index = ds.index
    exts = [c.split(".", 1)[1] for c in index.columns if c.startswith("tar_size.")]
    met_cols = [c for c in index.columns if ".met." in c]
    factors = demographic_factors(ds.manifest, index)
    rows = []
    for _, row in pick_samples(index, per_emotion, limit).iterrows():
        rows.append({"key": row["key"], "split": row["split"], "emotion": row["emotion"],
                     "intensity": f"{row['intensity']:.2f}" if "intensity" in row else "",
                     "identity": row.get("identity", ""), "factors": {f: row.get(f) for f in factors},
                     "media": _media(ds, row, exts), "met": _met(row, met_cols)})
    mods = [m for m, s in (ds.recipe.get("modalities") or {}).items() if s]
    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    recipe = ds.recipe
    return env.from_string(_PAGE).render(
        name=ds.manifest.get("name"), version=ds.manifest.get("version"), description=recipe.get("description", ""),
        samples=len(index), identities=index["identity"].nunique() if "identity" in index else "?",
        modalities=", ".join(mods), splits=audit.get("splits", {}), audit=audit,
        judged=sum(1 for c in audit["checks"] if c["judged"]),
        voice=voice_panel(ds, index),
        plots=[{"name": k, "uri": _data_uri("image/png", v)} for k, v in plots.items()], rows=rows, factors=factors,
        per_emotion=per_emotion, notice=NOTICE, tool=(ds.manifest.get("packages") or {}).get("affect-factory", ""))


def write_report(ds: Dataset, audit: dict[str, Any], plots: dict[str, bytes], per_emotion: int = 3,
                 limit: int = 40) -> str:
    """Write DIR/report.html; returns its path."""
    return ds.write_text(REPORT, render_report(ds, audit, plots, per_emotion, limit))
