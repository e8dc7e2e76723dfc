"""The `affect-factory` command: validate, plan, generate, verify, audit, card, report, preview,
publish, evaluate, features."""
from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from factory.errors import FactoryError

EXIT_BAD_INPUT = 2        # a recipe, file, path or option the factory refuses (message names it)
EXIT_AUDIT_FAILED = 1     # the dataset is complete, but its audit or verification found a problem

# markup=False: file names, levels and messages print as written (a "[/x]" in one is not rich markup);
# soft_wrap: a long path stays on one line (copyable, greppable).
console = Console(stderr=False, markup=False, soft_wrap=True)
errors = Console(stderr=True, markup=False, soft_wrap=True)


def mark(style: str, label: str, rest: str = "") -> Text:
    """`label` in `style`, then `rest` as plain text."""
    return Text.assemble((label, style), rest)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (2 for bad input, with a message and no traceback)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return int(args.func(args) or 0)
    except FactoryError as exc:
        errors.print(mark("bold red", "error:", f" {exc}"), highlight=False, soft_wrap=True)
        return EXIT_BAD_INPUT
    except OSError as exc:   # a path the user gave that cannot be read or written, a full disk
        errors.print(mark("bold red", "error:", f" {os_error_message(exc, args)}"), highlight=False, soft_wrap=True)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        errors.print("interrupted; finished shards are kept: run again with --resume")
        return 130


def os_error_message(exc: OSError, args) -> str:
    """An OSError as a message naming the path (the file, else the command's folder) and, for a
    full disk, how to go on."""
    where = exc.filename or getattr(args, "out", None) or getattr(args, "dir", None)
    text = f"{where}: {exc.strerror or exc}" if where else str(exc.strerror or exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        text += "; free some space there"
        if getattr(args, "func", None) is cmd_generate:
            text += ", then run the same command with --resume (finished shards are kept)"
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per step."""
    p = argparse.ArgumentParser(prog="affect-factory", description=__doc__)
    sub = p.add_subparsers(metavar="COMMAND")

    c = sub.add_parser("validate", help="check a recipe and the generators it needs")
    c.add_argument("recipe")
    c.set_defaults(func=cmd_validate)

    c = sub.add_parser("plan", help="plan the samples; write plan.parquet and print the counts")
    c.add_argument("recipe")
    c.add_argument("--out", default="plan.parquet", help="where to write the plan (default: plan.parquet)")
    c.set_defaults(func=cmd_plan)

    c = sub.add_parser("generate", help="generate a dataset; exit 1 when its fairness audit fails")
    c.add_argument("recipe")
    c.add_argument("--out", required=True, help="output folder or fsspec URL")
    c.add_argument("--workers", type=int, default=1, help="local Dask worker processes (1: run in this process)")
    c.add_argument("--scheduler", help="address of an existing Dask scheduler (tcp://host:8786)")
    c.add_argument("--resume", action="store_true", help="keep verified shards, make the rest")
    c.add_argument("--force", action="store_true", help="replace a dataset already in --out")
    c.add_argument("--no-progress", action="store_true")
    c.set_defaults(func=cmd_generate)

    c = sub.add_parser("audit", help="fairness audit; exit 1 when a threshold is broken")
    c.add_argument("dir")
    c.add_argument("--thresholds", help="YAML file with keys of the recipe's `audit:` block, overriding it")
    c.set_defaults(func=cmd_audit)

    for name, func, help_text in (
            ("verify", cmd_verify, "re-check every shard against the manifest and index"),
            ("card", cmd_card, "write datasheet.md, README.md (Hub card) and croissant.json"),
            ("report", cmd_report, "write report.html, one offline page to look at the dataset")):
        c = sub.add_parser(name, help=help_text)
        c.add_argument("dir")
        c.set_defaults(func=func)

    c = sub.add_parser("preview", help="write a contact sheet of faces (emotions x skin tones)")
    c.add_argument("dir")
    c.add_argument("--out", help="PNG path (default: DIR/preview.png)")
    c.set_defaults(func=cmd_preview)

    c = sub.add_parser("publish", help="upload a finished dataset, card included, to the Hugging Face Hub")
    c.add_argument("dir")
    c.add_argument("--repo-id", help="USER/NAME of the dataset repository (default: the recipe's publish.repo_id)")
    vis = c.add_mutually_exclusive_group()
    vis.add_argument("--private", action="store_true", default=None, help="make a new repository private")
    vis.add_argument("--public", dest="private", action="store_false", help="make a new repository public")
    c.add_argument("--dry-run", action="store_true", help="list the files and check the card; upload nothing")
    c.set_defaults(func=cmd_publish)

    c = sub.add_parser("evaluate", help="score a recognizer trained on real, real+synthetic and synthetic data")
    c.add_argument("--real", help="real dataset/features with train and test splits (PATH)")
    c.add_argument("--real-train", help="real training set: PATH or PATH:SPLIT")
    c.add_argument("--real-test", help="real test set: PATH or PATH:SPLIT")
    c.add_argument("--synthetic", required=True, help="synthetic dataset/features: PATH or PATH:SPLIT")
    c.add_argument("--label", default="emotion")
    c.add_argument("--groups", default="sex,age_band,skin_tone", help="comma-separated group columns")
    c.add_argument("--estimator", default="logistic", help="logistic | forest")
    c.add_argument("--out", default="evaluation", help="folder for evaluation.json/.md/.png")
    c.set_defaults(func=cmd_evaluate)

    c = sub.add_parser("features", help="measure a real physiology corpus with the factory's own code")
    c.add_argument("listing", help="CSV/Parquet: file, channels, sampling_rate, start, duration, onset, labels...")
    c.add_argument("--out", default="features.parquet")
    c.set_defaults(func=cmd_features)
    return p


# ---------------------------------------------------------------- commands

def plan_with_progress(recipe, recipe_path: str):
    """The recipe's plan; a plan estimated to take more than a few seconds prints its estimate
    (memory, time) and shows its steps as it goes."""
    from factory.complement import plan_recipe
    from factory.plan import plan_cost

    bar, task = None, None

    def report(step: str, done: int, total: int) -> None:
        nonlocal bar, task
        if bar is None:
            cost = plan_cost(total)
            if cost.seconds < 5:
                return
            console.print(f"planning {total:,} samples: estimated {cost.describe()}")
            bar = Progress(TextColumn("planning: {task.description}", markup=False), BarColumn(),
                           MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True)
            bar.start()
            task = bar.add_task(step, total=total)
        bar.update(task, description=step, completed=done, total=total)

    try:
        return plan_recipe(recipe, recipe_path, progress=report)
    finally:
        if bar is not None:
            bar.stop()


def cmd_validate(args) -> int:
    from factory.execute import build_generators
    from factory.recipe import load_recipe

    recipe = load_recipe(args.recipe)
    plan, _ = plan_with_progress(recipe, args.recipe)
    for g in build_generators(recipe).values():
        g.preflight(plan.levels())
    console.print(mark("green", "ok", f" {args.recipe}: {recipe.name} {recipe.version}, {len(plan.samples)} samples in "
                  f"{len(plan.shards())} shards, modalities: {', '.join(recipe.modalities)}"))
    return 0


def cmd_plan(args) -> int:
    from factory.recipe import load_recipe

    recipe = load_recipe(args.recipe)
    plan, real = plan_with_progress(recipe, args.recipe)
    if real is not None:
        print_complement(plan, real)
        if plan.samples.empty:
            console.print(f"the real data ({real.source['file']}) already meets or exceeds the target in every "
                          f"cell: nothing to plan")
            return 0
    else:
        print_counts(plan)
    plan.samples.to_parquet(args.out, index=False)
    console.print(f"wrote {args.out}: {len(plan.samples)} samples, {len(plan.shards())} shards")
    return 0


def print_complement(plan, real) -> None:
    """Before / planned / after counts per level and per balanced cell."""
    from factory.complement import before_after

    console.print(f"complementing {real.source['file']} ({real.source['rows']} rows, "
                  f"sha256 {real.source['sha256'][:12]}…) to {plan.complement['combined_size']} samples")
    groups = [[f] for f in plan.factors if f in real.labels.columns] + [list(c) for c in plan.recipe.balance]
    for factors in groups:
        table = before_after(plan, real.labels, factors)
        t = Table(title=" x ".join(factors), title_justify="left")
        for col in ("cell", "real", "planned", "after"):
            t.add_column(col, justify="left" if col == "cell" else "right")
        for cell, row in table.iterrows():
            label = " / ".join(map(str, cell)) if isinstance(cell, tuple) else str(cell)
            t.add_row(label, str(row["real"]), str(row["planned"]), str(row["after"]))
        console.print(t)


def print_counts(plan) -> None:
    """Counts per level of every factor and per cell of every balance constraint."""
    for factor in plan.factors:
        t = Table(title=f"{factor}", title_justify="left")
        t.add_column("level"); t.add_column("samples", justify="right"); t.add_column("share", justify="right")
        counts = plan.counts([factor])
        for level, n in counts.items():
            t.add_row(str(level), str(n), f"{n / len(plan.samples):.1%}")
        console.print(t)
    for combo in plan.recipe.balance:
        counts = plan.counts(list(combo))
        grid = counts.unstack(list(range(1, len(combo))), fill_value=0) if len(combo) > 1 else counts.to_frame("samples")
        grid = grid.reindex(plan.recipe.factor_levels()[combo[0]])      # recipe order, not sorted
        t = Table(title=f"balance {' x '.join(combo)}: {len(counts)} cells, {counts.min()}-{counts.max()} samples each",
                  title_justify="left")
        t.add_column(combo[0])
        for col in grid.columns:
            t.add_column(" / ".join(map(str, col)) if isinstance(col, tuple) else str(col), justify="right")
        for level, row in grid.iterrows():
            t.add_row(str(level), *(str(int(v)) for v in row))
        console.print(t)
    ids = plan.samples.groupby("split")["identity"].nunique()
    console.print("splits: " + ", ".join(f"{s} {n} samples / {ids[s]} persons"
                                          for s, n in plan.samples["split"].value_counts(sort=False).items()))


def cmd_generate(args) -> int:
    from factory.execute import generate
    from factory.recipe import load_recipe

    recipe = load_recipe(args.recipe)
    most = 4 * (os.cpu_count() or 1)
    if not 1 <= args.workers <= most:
        raise FactoryError(f"--workers {args.workers}: give 1 to {most} local worker processes (this machine has "
                           f"{os.cpu_count()} cores); for more, start a cluster and pass --scheduler")
    plan, real = plan_with_progress(recipe, args.recipe)
    if plan.samples.empty:
        console.print("the real data already meets or exceeds the target in every cell: nothing to generate")
        return 0
    with Progress(TextColumn("{task.description}", style="bold", markup=False), BarColumn(), MofNCompleteColumn(), TextColumn("samples"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console, disable=args.no_progress) as bar:
        task = bar.add_task(recipe.name, total=len(plan.samples))

        def progress(n, total):
            bar.update(task, advance=n)

        summary = generate(recipe, plan, args.out, workers=args.workers, scheduler=args.scheduler,
                           resume=args.resume, force=args.force, progress=progress)
    print_summary(summary)
    from factory.document import document_dataset

    result = document_dataset(args.out)
    print_audit(result, args.out)
    return 0 if result["passed"] else EXIT_AUDIT_FAILED


def print_summary(s) -> None:
    """The table that ends a run."""
    t = Table(title=f"dataset {s.out}", title_justify="left")
    for col in ("split", "samples"):
        t.add_column(col, justify="right" if col == "samples" else "left")
    for split, n in s.per_split.items():
        t.add_row(split, str(n))
    t.add_row(Text("total", "bold"), Text(str(s.samples), "bold"))
    console.print(t)
    rate = (s.samples / s.seconds) if s.seconds else 0
    console.print(f"{s.shards} shards ({s.skipped_shards} kept from before), {s.bytes / 1e6:.1f} MB, "
                  f"{s.seconds:.1f} s, {rate:.1f} samples/s")


def cmd_verify(args) -> int:
    from factory.dataset import verify

    problems = verify(args.dir)
    if problems:
        for p in problems:
            errors.print(mark("red", "✗", f" {p}"))
        errors.print(f"{len(problems)} problems in {args.dir}")
        return EXIT_AUDIT_FAILED
    console.print(mark("green", "ok", f" {args.dir}: every shard matches the manifest and the index"))
    return 0


def print_audit(result: dict, where: str) -> None:
    """One line per broken threshold (or ok), and where the audit's files are."""
    judged = sum(1 for c in result["checks"] if c["judged"])
    if result["passed"]:
        console.print(mark("green", "audit ok", f" {where}: {judged} checks passed, {result['not_judged']} not "
                           f"judged (groups too small or nothing to compare); see audit.md"))
        return
    errors.print(mark("red", f"audit: {len(result['broken'])} threshold(s) broken", f" in {where} (see audit.md):"))
    for b in result["broken"]:
        errors.print(mark("red", "  ✗", f" {b}"), highlight=False)


def cmd_audit(args) -> int:
    from factory.audit import run_audit
    from factory.dataset import open_dataset

    thresholds = load_thresholds(args.thresholds) if args.thresholds else None
    result = run_audit(open_dataset(args.dir), thresholds=thresholds)
    print_audit(result, args.dir)
    return 0 if result["passed"] else EXIT_AUDIT_FAILED


def load_thresholds(path: str):
    """Audit thresholds from a YAML file (the keys of a recipe's `audit:` block)."""
    from pydantic import ValidationError

    from factory.recipe import AuditThresholds, load_yaml, read_text_file

    data, _ = load_yaml(read_text_file(path, "thresholds"), f"--thresholds {path}")
    try:
        return AuditThresholds.model_validate(data or {})
    except ValidationError as exc:
        raise FactoryError(f"--thresholds {path}: {exc}") from None


def cmd_card(args) -> int:
    from factory.document import write_cards

    for path in write_cards(args.dir).values():
        console.print(f"wrote {path}")
    return 0


def cmd_report(args) -> int:
    from factory.document import write_report

    console.print(f"wrote {write_report(args.dir)}")
    return 0


def cmd_preview(args) -> int:
    from factory.dataset import open_dataset
    from factory.preview import write_contact_sheet

    out = write_contact_sheet(open_dataset(args.dir), args.out)
    console.print(f"wrote {out}")
    return 0


def cmd_evaluate(args) -> int:
    from factory.evaluate import evaluate, load_table, write_report

    train_spec = args.real_train or (f"{args.real}:train" if args.real else None)
    test_spec = args.real_test or (f"{args.real}:test" if args.real else None)
    if not train_spec or not test_spec:
        raise FactoryError("evaluate: give --real PATH, or both --real-train and --real-test")
    ev = evaluate(load_table(train_spec), load_table(test_spec), load_table(args.synthetic), label=args.label,
                  groups=[g for g in args.groups.split(",") if g], estimator=args.estimator)
    t = Table(title=f"{args.label} on the real test set", title_justify="left")
    for col in ("trained on", "samples", "accuracy", "macro-F1", "ROC AUC", "max group gap"):
        t.add_column(col, justify="left" if col == "trained on" else "right")
    for name, r in ev.results.items():
        gap = max((g["accuracy_gap"] for g in r["groups"].values()), default=float("nan"))
        t.add_row(name, str(ev.sizes[name]), f"{r['accuracy']:.3f}", f"{r['macro_f1']:.3f}",
                  f"{r.get('roc_auc_ovr', float('nan')):.3f}", f"{gap:.3f}")
    console.print(t)
    for path in write_report(ev, Path(args.out)):
        console.print(f"wrote {path}")
    return 0


def cmd_features(args) -> int:
    from factory.features import corpus_features

    table = corpus_features(Path(args.listing))
    table.to_parquet(args.out, index=False)
    console.print(f"wrote {args.out}: {len(table)} windows, "
                  f"{sum(c.startswith('physiology.measured.') for c in table.columns)} features")
    return 0


def cmd_publish(args) -> int:
    from factory.dataset import open_dataset
    from factory.publish import plan_publish, publish

    plan = plan_publish(open_dataset(args.dir), repo_id=args.repo_id, private=args.private)
    t = Table(title=f"{plan.folder} -> datasets/{plan.repo_id} ({'private' if plan.private else 'public'})",
              title_justify="left")
    t.add_column("file"); t.add_column("bytes", justify="right")
    for name, size in plan.files:
        t.add_row(name, f"{size:,}")
    t.add_row(Text("total", "bold"), Text(f"{plan.total_bytes:,}", "bold"))
    console.print(t)
    if not plan.card_found:
        errors.print(mark("yellow", "README.md is absent:", f" {plan.folder} has no Hub dataset card"), soft_wrap=True)
    for note in plan.notes:
        errors.print(mark("yellow", "note:", f" {note}"), soft_wrap=True)
    for problem in plan.problems:
        errors.print(mark("red", "✗", f" {problem}"), soft_wrap=True)
    if args.dry_run:
        if not plan.problems:
            console.print(mark("green", "ok", f" {len(plan.files)} files, {plan.total_bytes / 1e6:.1f} MB; the card's "
                               f"data_files patterns match every shard (dry run: nothing uploaded)"), soft_wrap=True)
        return 1 if plan.problems else 0
    publish(plan)
    console.print(mark("green", "published", f" {plan.url}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
