"""Finding neural models offline: a local folder or a Hugging Face Hub id already cached.

The factory never downloads during generation; `resolve_model` turns a model reference into
a local folder or raises a FactoryError that says how to pre-download it.
"""
from __future__ import annotations

import json
from pathlib import Path

from factory.errors import FactoryError


def _looks_like_path(ref: str) -> bool:
    """Paths start with . / ~ or have several slashes; hub ids are owner/name (or name)."""
    return ref.startswith((".", "/", "~")) or ref.count("/") > 1


def resolve_model(ref: str | None, field: str, required_file: str | None = None) -> Path:
    """Local folder of model `ref` (a path, or a hub id in the local cache).

    `field` is the recipe key path named in errors (e.g. ``modalities.face.model``);
    `required_file` (e.g. ``model_index.json``) must exist in the folder.
    """
    if not ref:
        raise FactoryError(f"{field}: give a model id (e.g. stabilityai/sd-turbo) or a local folder")
    path = Path(ref).expanduser()
    if path.exists() or _looks_like_path(ref):
        if not path.is_dir():
            raise FactoryError(f"{field}: {ref!r} does not exist (or is not a folder); give an existing "
                               f"model folder or a Hugging Face Hub id")
        folder = path
    else:
        folder = _cached_snapshot(ref, field)
    if required_file and not (folder / required_file).exists():
        raise FactoryError(f"{field}: {ref!r} has no {required_file}; is it a model of the right kind "
                           f"(saved with save_pretrained)?")
    return folder


def _cached_snapshot(repo_id: str, field: str) -> Path:
    from huggingface_hub import snapshot_download
    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # noqa: BLE001 - any failure means: not in the local cache
        raise FactoryError(
            f"{field}: model {repo_id!r} is not in the local Hugging Face cache and the factory does "
            f"not download while generating; pre-download it with `huggingface-cli download {repo_id}` "
            f"(or `hf download {repo_id}`), or give a local folder") from None


def read_config(folder: Path, sub: str, name: str = "config.json") -> dict:
    """`folder/sub/name` (default ``config.json``; ``sub`` may be "") as a dict ({} if absent)."""
    f = folder / sub / name
    return json.loads(f.read_text()) if f.exists() else {}
