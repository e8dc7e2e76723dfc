"""The audit's plots: one PNG per section (matplotlib, drawn off-screen)."""
from __future__ import annotations

import io
from typing import Any

import numpy as np


def make_plots(r: dict[str, Any]) -> dict[str, bytes]:
    """PNG plots of each section: {name: png bytes}."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    out = {}

    def save(fig, name):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
        plt.close(fig)
        out[name] = buf.getvalue()

    rep = [(f, v) for f, v in r["representation"]["factors"].items() if v.get("rows")]
    if rep:
        fig, axes = plt.subplots(1, len(rep), figsize=(3.2 * len(rep), 2.8), squeeze=False)
        for ax, (factor, v) in zip(axes[0], rep):
            x = np.arange(len(v["rows"]))
            ax.bar(x - 0.2, [row["share"] for row in v["rows"]], 0.4, label="achieved")
            ax.bar(x + 0.2, [row["target"] for row in v["rows"]], 0.4, label="target")
            ax.set_xticks(x, [row["level"] for row in v["rows"]], rotation=60, fontsize=7)
            ax.set_title(factor, fontsize=9)
        axes[0][0].legend(fontsize=7)
        fig.suptitle("(a) representation: share per level")
        save(fig, "representation")

    lp = [(f, v) for f, v in r["label_parity"]["factors"].items() if v["emotions"]]
    if lp:
        fig, axes = plt.subplots(1, len(lp), figsize=(3.2 * len(lp), 3), squeeze=False)
        for ax, (factor, v) in zip(axes[0], lp):
            emos = list(v["emotions"])
            groups = list(v["groups"])
            grid = np.array([[v["emotions"][e]["shares"].get(g) or 0.0 for g in groups] for e in emos])
            im = ax.imshow(grid, vmin=0, vmax=max(grid.max(), 1e-9), cmap="viridis", aspect="auto")
            ax.set_xticks(range(len(groups)), groups, rotation=60, fontsize=7)
            ax.set_yticks(range(len(emos)), emos, fontsize=7)
            ax.set_title(factor, fontsize=9)
        fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8)
        fig.suptitle("(b) label parity: emotion share per group")
        save(fig, "label_parity")

    fid = r["fidelity"]["modalities"]
    factors = r["demographic_factors"]
    if fid and factors:
        cols = [c for m in fid.values() for c in m["columns"]]
        fig, axes = plt.subplots(1, len(factors), figsize=(3.2 * len(factors), 0.35 * len(cols) + 1.6), squeeze=False)
        for ax, factor in zip(axes[0], factors):
            entries = [fid[c.split(".", 1)[0]]["columns"][c]["by_factor"].get(factor, {}) for c in cols]
            groups = sorted({g for e in entries for g in e.get("rates", {})})
            grid = np.array([[(e.get("rates", {}).get(g)) if e.get("rates", {}).get(g) is not None else np.nan
                              for g in groups] for e in entries], dtype=float).reshape(len(cols), len(groups))
            ax.imshow(grid, vmin=0, vmax=1, cmap="RdYlGn", aspect="auto")
            ax.set_xticks(range(len(groups)), groups, rotation=60, fontsize=7)
            ax.set_yticks(range(len(cols)), [c.replace(".met.", ": ") for c in cols] if ax is axes[0][0] else [""] * len(cols),
                          fontsize=7)
            ax.set_title(factor, fontsize=9)
        fig.suptitle("(c) fidelity: rate of targets met per group")
        save(fig, "fidelity")

    d = r["downstream"]
    if d["assessed"]:
        fs = list(d["factors"].items())
        fig, axes = plt.subplots(1, len(fs) + 1, figsize=(3.2 * (len(fs) + 1), 3), squeeze=False)
        cm = np.array(d["confusion"]["matrix"])
        ax = axes[0][0]
        ax.imshow(cm, cmap="Blues")
        ax.set_xticks(range(len(d["confusion"]["labels"])), d["confusion"]["labels"], rotation=60, fontsize=7)
        ax.set_yticks(range(len(d["confusion"]["labels"])), d["confusion"]["labels"], fontsize=7)
        ax.set_xlabel("predicted", fontsize=8); ax.set_ylabel("true", fontsize=8)
        ax.set_title(f"accuracy {d['accuracy']:.2f}", fontsize=9)
        for ax, (factor, e) in zip(axes[0][1:], fs):
            groups = list(e["groups"])
            ax.bar(range(len(groups)), [e["groups"][g]["accuracy"] or 0 for g in groups])
            ax.axhline(d["chance"] or 0, color="grey", ls="--", lw=1)
            ax.set_ylim(0, 1)
            ax.set_xticks(range(len(groups)), groups, rotation=60, fontsize=7)
            ax.set_title(f"accuracy by {factor}", fontsize=9)
        fig.suptitle("(d) downstream: baseline recognizer on the test split")
        save(fig, "downstream")
    return out
