"""Publish a finished dataset to the Hugging Face Hub (resumable), card included.

`plan_publish(dataset)` checks an open finished dataset (every shard's SHA-256, the card's
``configs`` / ``data_files`` patterns against the shards); `publish(plan)` creates the dataset
repository if needed and uploads the folder with huggingface_hub's resumable large-folder upload
(`HfApi.upload_large_folder`; in huggingface_hub >= 1.x `upload_folder` is itself resumable
and batches large folders, and is used where `upload_large_folder` is gone). `.factory/`
(resume bookkeeping) is never uploaded.

The token comes from where huggingface_hub looks for it (``HF_TOKEN``, ``hf auth login`` /
``huggingface-cli login``); it is passed to the client and never written, printed or logged:
every message that leaves this module is scrubbed of it.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from fsspec.implementations.local import LocalFileSystem

from factory.dataset import CARD, DOCUMENTS, INDEX, MANIFEST, PLOTS_DIR, Dataset
from factory.errors import FactoryError
from factory.recipe import load_yaml

EXCLUDE = [".factory/**", ".factory/*", "**/.DS_Store"]


@dataclass
class PublishPlan:
    """What `publish` would upload (or uploaded): files with sizes, the card check, the target."""

    folder: str
    repo_id: str
    private: bool
    files: list[tuple[str, int]]                       # relative path, bytes
    card_found: bool
    problems: list[str] = field(default_factory=list)  # card / data_files mismatches
    notes: list[str] = field(default_factory=list)
    url: Optional[str] = None                          # set after an upload

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.files)


# ---------------------------------------------------------------- planning (no network)

def plan_publish(ds: Dataset, repo_id: Optional[str] = None, private: Optional[bool] = None,
                 verify_shards: bool = True) -> PublishPlan:
    """Check a finished local dataset and list what would be uploaded; touches no network."""
    if not isinstance(ds.fs, LocalFileSystem):
        raise FactoryError(f"publish {ds.url}: the Hub upload reads a local folder; copy the dataset here first "
                           f"(e.g. `fsspec`/`aws s3 sync`), then publish that folder")
    path, manifest = Path(str(ds.url).removeprefix("file://")), ds.manifest
    if verify_shards:
        problems = ds.verify()
        if problems:
            raise FactoryError(f"publish {ds.url}: the dataset does not verify ({len(problems)} problems, first: "
                               f"{problems[0]}); run `affect-factory verify {ds.url}` and regenerate with --resume")
    settings = (manifest.get("recipe") or {}).get("publish") or {}
    repo_id = repo_id or settings.get("repo_id")
    if not repo_id:
        raise FactoryError("publish: no repository id; pass --repo-id USER/NAME or set `publish.repo_id` in the recipe")
    if not re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", repo_id):
        raise FactoryError(f"--repo-id {repo_id!r}: expected USER/NAME (or ORG/NAME)")
    if private is None:
        private = bool(settings.get("private", True))
    files, left_out = list_files(path, manifest)
    plan = PublishPlan(str(path), repo_id, private, files, card_found=(path / CARD).is_file())
    if left_out:
        plan.notes.append(f"not uploaded (not files the factory wrote): {', '.join(left_out[:10])}"
                          f"{' …' if len(left_out) > 10 else ''}")
    if plan.card_found:
        plan.problems = check_card(path / CARD, [f for f, _ in files], manifest)
    else:
        plan.problems = [f"{CARD} (the Hub dataset card) is missing in {path}; write it with "
                         f"`affect-factory card {path}` before publishing"]
    return plan


def list_files(path: Path, manifest: dict[str, Any]) -> tuple[list[tuple[str, int]], list[str]]:
    """(files to upload as (relative POSIX path, size), sorted; other entries left out).

    Only what the manifest lists (its shards, the index, the manifest itself) and the documents
    the factory writes (`dataset.DOCUMENTS`, `plots/*.png`) are uploaded: never a dot-file (a
    `.env`), a file of the user's kept beside the dataset, or `.factory/`. A symlink among them
    is refused: it would upload whatever it points to.
    """
    wanted = [*manifest["shards"], INDEX, MANIFEST, *(d for d in DOCUMENTS if d != PLOTS_DIR)]
    plots = path / PLOTS_DIR
    if plots.is_dir() and not plots.is_symlink():
        wanted += [f"{PLOTS_DIR}/{p.name}" for p in sorted(plots.iterdir()) if p.suffix == ".png"]
    files = []
    for rel in dict.fromkeys(wanted):
        p = path / rel
        if p.is_symlink():
            raise FactoryError(f"publish {path}: {rel} is a symbolic link (to {os.readlink(p)}); the dataset must hold "
                               f"its own files: replace the link with the file, or regenerate")
        if p.is_file():
            files.append((rel, p.stat().st_size))
    kept = {rel for rel, _ in files}
    left_out = sorted(p.relative_to(path).as_posix() for p in path.rglob("*")
                      if (p.is_file() or p.is_symlink()) and p.relative_to(path).as_posix() not in kept
                      and not p.relative_to(path).as_posix().startswith(".factory/"))
    return sorted(files), left_out


def card_metadata(card: Path) -> dict[str, Any]:
    """The YAML front matter of a dataset card (between the first two `---` lines)."""
    text = card.read_text(encoding="utf-8")
    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", text, re.S)
    if not match:
        return {}
    data, _ = load_yaml(match.group(1), str(card))
    return data if isinstance(data, dict) else {}


def check_card(card: Path, files: list[str], manifest: dict[str, Any]) -> list[str]:
    """Problems between the card's `configs[].data_files` patterns and the shards (empty: all good).

    Every pattern must match at least one file; every shard must be matched by some config;
    a split's patterns must match only shards of that split (per the manifest).
    """
    meta = card_metadata(card)
    configs = meta.get("configs")
    if not configs:
        return [f"{CARD}: no `configs` with `data_files` in its YAML front matter; the Hub would not know the splits"]
    problems = []
    shards = {name: entry.get("split") for name, entry in manifest["shards"].items()}
    covered: set[str] = set()
    for config in configs:
        cname = config.get("config_name", "default")
        for split, pattern in _data_files(config.get("data_files")):
            matched = [f for f in files if glob_match(pattern, f)]
            if not matched:
                problems.append(f"{CARD}: config {cname!r} split {split!r}: pattern {pattern!r} matches no file")
                continue
            for f in matched:
                if f in shards:
                    covered.add(f)
                    if split is not None and shards[f] != split:
                        problems.append(f"{CARD}: config {cname!r} split {split!r}: pattern {pattern!r} "
                                        f"matches {f}, a {shards[f]!r} shard")
    missing = sorted(set(shards) - covered)
    if missing:
        problems.append(f"{CARD}: {len(missing)} shards match no data_files pattern (first: {missing[0]})")
    return problems


def _data_files(spec) -> list[tuple[Optional[str], str]]:
    """(split, pattern) pairs of a `data_files` value in any of the Hub's accepted forms."""
    if spec is None:
        return []
    if isinstance(spec, str):
        return [(None, spec)]
    if isinstance(spec, dict):
        return [(split, p) for split, pats in spec.items() for p in ([pats] if isinstance(pats, str) else pats)]
    out = []
    for item in spec:
        if isinstance(item, str):
            out.append((None, item))
        elif isinstance(item, dict):
            pats = item.get("path", [])
            out += [(item.get("split"), p) for p in ([pats] if isinstance(pats, str) else pats)]
    return out


def glob_match(pattern: str, path: str) -> bool:
    """Hub (fsspec) glob semantics: `*` and `?` stay within a folder, `**` crosses folders."""
    regex, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            regex += "(?:.*/)?"; i += 3; continue
        if pattern.startswith("**", i):
            regex += ".*"; i += 2; continue
        if c == "*":
            regex += "[^/]*"
        elif c == "?":
            regex += "[^/]"
        elif c == "[":
            j = pattern.find("]", i)
            if j < 0:
                regex += re.escape(c)
            else:
                regex += pattern[i:j + 1].replace("[!", "[^"); i = j + 1; continue
        else:
            regex += re.escape(c)
        i += 1
    return re.fullmatch(regex, path.removeprefix("./")) is not None


# ---------------------------------------------------------------- upload

def publish(plan: PublishPlan, token: Optional[str] = None) -> PublishPlan:
    """Create the dataset repo (if needed) and upload `plan.folder`; resumable by running it again."""
    from huggingface_hub import HfApi, constants, get_token

    if plan.problems:
        raise FactoryError(f"publish {plan.folder}: fix the dataset card first: " + "; ".join(plan.problems))
    token = token or get_token()
    if not token:
        raise FactoryError("publish: no Hugging Face token found; set HF_TOKEN or run `hf auth login` "
                           "(`huggingface-cli login` with older huggingface_hub)")
    endpoint = constants.ENDPOINT
    api = HfApi(token=token)
    try:
        repo = api.create_repo(plan.repo_id, repo_type="dataset", private=plan.private, exist_ok=True)
        upload = getattr(api, "upload_large_folder", None)
        if upload is not None:                     # huggingface_hub 0.25-0.x: resumable, multi-worker
            upload(repo_id=plan.repo_id, folder_path=plan.folder, repo_type="dataset",
                   allow_patterns=[f for f, _ in plan.files], ignore_patterns=EXCLUDE, private=plan.private)
        else:                                      # 1.x: upload_folder is itself resumable and batched
            api.upload_folder(repo_id=plan.repo_id, folder_path=plan.folder, repo_type="dataset",
                              allow_patterns=[f for f, _ in plan.files], ignore_patterns=EXCLUDE,
                              commit_message=f"affect-factory: upload {Path(plan.folder).name}")
    except FactoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - network, auth and Hub errors all end the same way
        raise FactoryError(_scrub(f"publish {plan.repo_id}: the upload to {endpoint} failed "
                                  f"({type(exc).__name__}: {_first_line(exc)}); run the same command "
                                  f"again to resume", token)) from None
    plan.url = _scrub(str(getattr(repo, "url", f"{endpoint}/datasets/{plan.repo_id}")), token)
    return plan


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""


def _scrub(text: str, token: Optional[str]) -> str:
    """`text` with the token (and anything token-shaped) replaced."""
    if token:
        text = text.replace(token, "***")
    env = os.environ.get("HF_TOKEN")
    if env:
        text = text.replace(env, "***")
    return re.sub(r"hf_[A-Za-z0-9]{20,}", "hf_***", text)
