"""Model references in recipes: a local path or a Hugging Face Hub id, checked before generation.

The factory never downloads a model in the middle of a run: `resolve` turns a reference into a
local path during preflight, or raises a FactoryError saying how to get it (pre-download with
``huggingface-cli download ID``, or point the recipe at a local folder).
"""
from __future__ import annotations

import os
from pathlib import Path

from factory.errors import FactoryError


def looks_like_path(ref: str) -> bool:
    """True for references written as paths (absolute, ./, ../, ~ or with a backslash)."""
    return ref.startswith(("/", "./", "../", "~", ".\\")) or "\\" in ref or os.path.exists(ref)


def resolve(ref: str, field: str, *, required_file: str | None = "config.json") -> str:
    """A local folder (or file) for `ref`, or a FactoryError naming `field` and what to do.

    Hub ids are looked up in the local Hugging Face cache; when absent and the hub is
    reachable they are downloaded now (before any sample is made), else the error says how to
    pre-download them.
    """
    if looks_like_path(ref):
        return _local(ref, field, required_file)
    return _from_hub(ref, field)


def _local(ref: str, field: str, required_file: str | None) -> str:
    path = Path(ref).expanduser()
    if not path.exists():
        raise FactoryError(f"{field}: model path {ref!r} does not exist (give an existing local folder "
                           f"or a Hugging Face model id)")
    if path.is_dir() and required_file and not (path / required_file).exists():
        raise FactoryError(f"{field}: {ref!r} is a folder without {required_file}; is it a saved model "
                           f"(save_pretrained) folder?")
    return str(path)


def _from_hub(ref: str, field: str) -> str:
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:  # pragma: no cover - huggingface_hub is a base dependency
        raise FactoryError(f"{field}: {ref!r} is not a local path and huggingface_hub is not installed") from None
    try:
        return snapshot_download(ref, local_files_only=True)
    except LocalEntryNotFoundError:
        pass
    except Exception as exc:  # malformed ids and the like
        raise FactoryError(f"{field}: {ref!r} is neither an existing local path nor a valid Hugging Face "
                           f"model id ({exc})") from None
    how = (f"pre-download it on a connected machine with `huggingface-cli download {ref}` (it goes to the "
           f"Hugging Face cache, HF_HOME), or save it to a folder and give that path")
    if _offline():
        raise FactoryError(f"{field}: model {ref!r} is not in the local Hugging Face cache and the hub is "
                           f"offline (HF_HUB_OFFLINE); {how}")
    try:
        return snapshot_download(ref)
    except Exception as exc:
        raise FactoryError(f"{field}: model {ref!r} is not cached locally and could not be downloaded "
                           f"({type(exc).__name__}); {how}") from None


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on") or \
        os.environ.get("TRANSFORMERS_OFFLINE", "0").lower() in ("1", "true", "yes", "on")
