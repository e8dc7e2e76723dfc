"""An exclusive lock on an output folder: one `generate` at a time writes into a dataset.

The lock is ``DIR/.factory/lock``, made with an exclusive create (mode ``"xb"``: it fails if
the file exists; atomic on local and POSIX-like filesystems, and where an object store supports
conditional writes; elsewhere a check, then a write) and holding who took it: host, process id,
start time and command line.

A second run refuses, naming the first. A lock left by a run that was killed is *stale*: on the
same host its process is gone, and it is taken over with a note; on another host the factory
cannot tell, so the message says which file to delete once that run is known to be gone.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from factory.dataset import FACTORY_DIR
from factory.errors import FactoryError

LOCK = f"{FACTORY_DIR}/lock"


@dataclass
class FolderLock:
    """A held lock; `release()` removes it if it is still ours."""

    fs: Any
    path: str
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    note: Optional[str] = None        # set when a stale lock was taken over

    def release(self) -> None:
        """Remove the lock file if it still holds this lock's token."""
        try:
            if _read(self.fs, self.path).get("token") == self.token:
                self.fs.rm(self.path)
        except (OSError, ValueError):
            pass

    def __enter__(self) -> "FolderLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def acquire(fs, root: str, alive: Callable[[int], bool] | None = None) -> FolderLock:
    """Take the lock on `root` (a folder on `fs`), or raise a FactoryError naming its holder."""
    alive = alive or _pid_alive
    path = f"{root}/{LOCK}"
    lock = FolderLock(fs, path)
    fs.makedirs(f"{root}/{FACTORY_DIR}", exist_ok=True)
    for attempt in range(2):
        try:
            _create(fs, path, json.dumps(_holder(lock.token)).encode())
            return lock
        except FileExistsError:
            pass
        try:
            holder = _read(fs, path)
        except FileNotFoundError:           # released between our two steps: try again
            continue
        except (OSError, ValueError):
            raise FactoryError(f"--out {root}: {path} exists but cannot be read; if no other run is writing "
                               f"this dataset, delete {path} and run again") from None
        if attempt == 0 and holder.get("host") == socket.gethostname() and not alive(int(holder.get("pid", -1))):
            current = _set_aside(fs, path, holder, lock.token)
            if current is None:             # stale: its process is gone, and we set it aside
                lock.note = (f"took over a stale lock of pid {holder.get('pid')} (started {holder.get('started')}), "
                             f"a run that ended without releasing it")
                continue
            if not current:                 # gone meanwhile: try again
                continue
            holder = current
        raise FactoryError(
            f"--out {root}: another run is writing this dataset (pid {holder.get('pid')} on {holder.get('host')}, "
            f"started {holder.get('started')}: {holder.get('command')}); wait for it to finish, or, if it is gone, "
            f"delete {path} and run again")
    raise FactoryError(f"--out {root}: could not take the lock {path}; run again")


def _set_aside(fs, path: str, stale: dict[str, Any], token: str) -> dict[str, Any] | None:
    """Rename the stale lock `stale` out of the way; None when done. Two runs may both find the
    same stale lock: renaming is atomic, and if what we renamed is not the stale lock (another
    run took it over first), it is put back and its holder returned, so only one run goes on."""
    aside = f"{path}.stale-{token}"
    try:
        fs.mv(path, aside)
    except (FileNotFoundError, OSError):
        return {}                           # gone already: the next attempt reads the new holder
    moved = _read(fs, aside)
    if moved.get("token") == stale.get("token"):
        fs.rm(aside)
        return None
    try:
        _create(fs, path, json.dumps(moved).encode())
    except FileExistsError:
        pass
    fs.rm(aside)
    return moved


def _create(fs, path: str, data: bytes) -> None:
    """Write `path` only if it does not exist (FileExistsError otherwise): exclusive where the
    filesystem supports mode "xb", a check then a write where it does not."""
    try:
        with fs.open(path, "xb") as f:
            f.write(data)
    except (ValueError, NotImplementedError):      # no exclusive create here: best effort
        if fs.exists(path):
            raise FileExistsError(path) from None
        with fs.open(path, "wb") as f:
            f.write(data)


def _holder(token: str) -> dict[str, Any]:
    return {"token": token, "host": socket.gethostname(), "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "command": " ".join(["affect-factory", *sys.argv[1:]])[:300]}


def _read(fs, path: str) -> dict[str, Any]:
    data = json.loads(fs.cat_file(path))
    if not isinstance(data, dict):
        raise ValueError("not a lock")
    return data


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:             # exists, owned by someone else
        return True
    return True
