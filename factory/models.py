"""Neural models in recipes: one policy for model references and for the device they run on.

A model reference is a local folder (or file) or a Hugging Face Hub id. `resolve` turns it into
a local path during preflight, before any sample is made: a hub id comes from the local cache,
or is downloaded then when the hub is reachable, else the error says how to pre-download it.
Nothing is downloaded in the middle of a run. `pick_device` is the one rule for ``device:``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from factory.errors import FactoryError

DEVICES = "auto, cpu, cuda, cuda:N, mps"


def looks_like_path(ref: str) -> bool:
    """True for references written as paths (absolute, ./, ../, ~, a backslash) or that exist."""
    return ref.startswith(("/", "./", "../", "~", ".\\")) or "\\" in ref or os.path.exists(ref)


def resolve(ref: str | None, field: str, required_file: str | None = None) -> Path:
    """A local path for model `ref`, or a FactoryError naming the recipe key `field` and what to do.

    `required_file` (e.g. ``config.json``, ``model_index.json``) must exist in a local folder.
    """
    if not ref:
        raise FactoryError(f"{field}: give a model id (e.g. facebook/mms-tts-eng) or a local folder")
    if looks_like_path(ref):
        return _local(ref, field, required_file)
    return _from_hub(ref, field)


def read_config(folder: Path, sub: str, name: str = "config.json") -> dict:
    """`folder/sub/name` (default ``config.json``; ``sub`` may be "") as a dict ({} if absent)."""
    f = Path(folder) / sub / name
    return json.loads(f.read_text()) if f.exists() else {}


def pick_device(requested: str, field: str) -> str:
    """The torch device for a recipe's ``device:`` value (``auto``: CUDA, then MPS, then CPU).

    An explicit device that is not present is a FactoryError naming `field`.
    """
    if requested.split(":")[0] not in ("auto", "cpu", "cuda", "mps"):
        raise FactoryError(f"{field}: {requested!r} is not one of {DEVICES}")
    import torch
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise FactoryError(f"{field}: {requested!r} was asked for but torch sees no CUDA GPU; "
                           f"use device: auto or cpu")
    if requested == "mps" and not has_mps:
        raise FactoryError(f"{field}: 'mps' was asked for but is not available; use device: auto or cpu")
    return requested


def _local(ref: str, field: str, required_file: str | None) -> Path:
    path = Path(ref).expanduser()
    if not path.exists():
        raise FactoryError(f"{field}: model path {ref!r} does not exist (give an existing local folder "
                           f"or a Hugging Face model id)")
    if path.is_dir() and required_file and not (path / required_file).exists():
        raise FactoryError(f"{field}: {ref!r} is a folder without {required_file}; is it a model of the "
                           f"right kind (saved with save_pretrained)?")
    return path


def _from_hub(ref: str, field: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError
    try:
        return Path(snapshot_download(ref, local_files_only=True))
    except LocalEntryNotFoundError:
        pass
    except Exception as exc:  # malformed ids and the like
        raise FactoryError(f"{field}: {ref!r} is neither an existing local path nor a valid Hugging Face "
                           f"model id ({exc})") from None
    how = (f"pre-download it on a connected machine with `huggingface-cli download {ref}` (or `hf download`; it goes to the "
           f"Hugging Face cache, HF_HOME), or save it to a folder and give that path")
    if _offline():
        raise FactoryError(f"{field}: model {ref!r} is not in the local Hugging Face cache and the hub is "
                           f"offline (HF_HUB_OFFLINE); {how}")
    try:
        return Path(snapshot_download(ref))
    except Exception as exc:
        raise FactoryError(f"{field}: model {ref!r} is not cached locally and could not be downloaded "
                           f"({type(exc).__name__}); {how}") from None


def _offline() -> bool:
    flags = (os.environ.get(v, "0").lower() for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
    return any(f in ("1", "true", "yes", "on") for f in flags)
