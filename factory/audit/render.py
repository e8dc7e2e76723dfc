"""The audit as Markdown: audit.md, and the section the datasheet embeds."""
from __future__ import annotations

from typing import Any


def _fmt(x, pct=False) -> str:
    if x is None:
        return "–"
    return f"{x:.1%}" if pct else f"{x:.3f}"


def audit_markdown(r: dict[str, Any], heading: str = "#") -> str:
    """The audit as Markdown (audit.md; the datasheet embeds it)."""
    h = heading
    th = r["thresholds"]
    lines = [f"{h} Fairness audit: {r['dataset']} {r['version']}", "",
             f"{r['samples']} samples; splits: " + ", ".join(f"{k} {v}" for k, v in r["splits"].items()) + ".",
             f"Result: **{'PASSED' if r['passed'] else 'FAILED'}** "
             f"({sum(1 for c in r['checks'] if c['judged'])} checks judged, {r['not_judged']} not judged: "
             f"groups smaller than {th['min_group_size']} samples or nothing to compare).", ""]
    if r["broken"]:
        lines += ["Broken thresholds:", ""] + [f"- {b}" for b in r["broken"]] + [""]
    lines += [f"{h}# Checks", "", "| section | check | value | threshold | result | detail |", "|---|---|---|---|---|---|"]
    for c in r["checks"]:
        res = "not judged" if not c["judged"] else ("ok" if c["passed"] else "**broken**")
        lines.append(f"| {c['section']} | {c['name']} | {_fmt(c['value'])} | {c['threshold']} | {res} | {c['detail']} |")
    rep = r["representation"]
    lines += ["", f"{h}# (a) Representation", "",
              f"Achieved vs target share; a gap up to {_fmt(rep['tolerance'])} "
              f"(max of the threshold and one sample, 1/N) passes.", ""]
    for factor, res in rep["factors"].items():
        if res.get("missing"):
            lines.append(f"- {factor}: missing from the index")
            continue
        lines.append(f"- **{factor}**: " + ", ".join(
            f"{x['level']} {x['count']} ({_fmt(x['share'], True)} / target {_fmt(x['target'], True)})" for x in res["rows"]))
    for name, res in rep["cells"].items():
        if res.get("rows"):
            counts = [x["count"] for x in res["rows"]]
            lines.append(f"- **{name}** (balanced): {len(counts)} cells, {min(counts)}-{max(counts)} samples each, "
                         f"max gap {_fmt(res['max_gap'])}")
    lines += ["", f"{h}# (b) Label parity", "",
              "Share of each emotion within each group; ratio = smallest / largest share across judged groups.", ""]
    for factor, res in r["label_parity"]["factors"].items():
        lines.append(f"- **{factor}** (groups: {', '.join(f'{k} {v}' for k, v in res['groups'].items())}): "
                     f"min ratio {_fmt(res['min_ratio'])}, max difference {_fmt(res['max_difference'])}")
    lines += ["", f"{h}# (c) Fidelity parity", "", "Rate of outputs whose measured value met its target.", ""]
    if not r["fidelity"]["modalities"]:
        lines.append("- no `*.met.*` columns in the index")
    for modality, res in r["fidelity"]["modalities"].items():
        lines.append(f"- **{modality}**: overall {_fmt(res['overall'], True)}")
        for col, e in res["columns"].items():
            gaps = ", ".join(f"{f} gap {_fmt(v['gap'])}" for f, v in e["by_factor"].items())
            lines.append(f"  - `{col}`: {_fmt(e['overall'], True)} of {e['samples']}; {gaps}")
    d = r["downstream"]
    lines += ["", f"{h}# (d) Downstream parity", ""]
    if not d["assessed"]:
        lines.append(f"Not assessed: {d['reason']}.")
    else:
        lines.append(f"Baseline `{d['estimator']}` on {len(d['features'])} measured features, trained on "
                     f"{d['train_split']} ({d['train_samples']}), scored on {d['test_split']} ({d['test_samples']}): "
                     f"accuracy {_fmt(d['accuracy'])}, macro-F1 {_fmt(d['macro_f1'])} (chance {_fmt(d['chance'])}).")
        if d.get("note"):
            lines.append(f"Note: {d['note']}.")
        lines.append("")
        for factor, e in d["factors"].items():
            lines.append(f"- **{factor}**: equalized-odds difference {_fmt(e['equalized_odds_difference'])}; " +
                         ", ".join(f"{g} acc {_fmt(v['accuracy'])} F1 {_fmt(v['macro_f1'])} (n={v['count']})"
                                   for g, v in e["groups"].items()))
    if r.get("plots"):
        lines += ["", f"{h}# Plots", ""] + [f"![{k}]({v})" for k, v in r["plots"].items()]
    return "\n".join(lines) + "\n"
