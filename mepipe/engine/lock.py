"""One build per store at a time: a lock file beside the store, with a heartbeat.

The lock is a small JSON file ``<store>.lock`` holding host, pid and a heartbeat time
that a background thread refreshes. A second build refuses while the lock is live; a
lock left by a crashed build is taken over once its process is gone (same host) or its
heartbeat is older than ``stale_after`` seconds (any host), so it never sticks forever.
It sits beside the store, not inside, because ``--overwrite`` empties the store.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from datetime import datetime, timezone

import fsspec
from fsspec.implementations.local import LocalFileSystem

from mepipe.errors import MepipeError

HEARTBEAT_S = 20.0
STALE_AFTER_S = 120.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class StoreLock:
    """Context manager holding the build lock of ``store``."""

    def __init__(self, store: str, *, stale_after: float = STALE_AFTER_S) -> None:
        self.fs, path = fsspec.core.url_to_fs(str(store))
        self.path = path.rstrip("/") + ".lock"
        self.store = str(store)
        self.stale_after = stale_after
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._me = {"host": socket.gethostname(), "pid": os.getpid()}

    def _holder(self) -> dict | None:
        try:
            with self.fs.open(self.path, "rb") as f:
                return json.loads(f.read().decode())
        except FileNotFoundError:
            return None
        except (ValueError, OSError):
            return {}  # half-written by a process that died mid-write: treat as stale

    def _is_stale(self, holder: dict) -> bool:
        if not holder:
            return True
        if holder.get("host") == self._me["host"] and not _alive(int(holder.get("pid", -1))):
            return True
        return time.time() - float(holder.get("heartbeat", 0)) > self.stale_after

    def _write(self, exclusive: bool) -> None:
        data = json.dumps(dict(self._me, started=self._started, heartbeat=time.time())).encode()
        if not isinstance(self.fs, LocalFileSystem):
            # object stores replace an object whole; they have no exclusive create
            with self.fs.open(self.path, "wb") as f:
                f.write(data)
            return
        # the record goes to a private file first, then appears whole under the lock's
        # name: a reader never sees half a record (which it would take for a dead lock)
        scratch = f"{self.path}.{self._me['host']}.{self._me['pid']}"
        with open(scratch, "wb") as f:
            f.write(data)
        try:
            if exclusive:
                os.link(scratch, self.path)  # fails if the lock exists: taking it is atomic
            else:
                os.replace(scratch, self.path)
        finally:
            if os.path.exists(scratch):
                os.unlink(scratch)

    def acquire(self) -> None:
        self._started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            self.fs.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        except OSError as exc:
            raise MepipeError(f"cannot write the store {self.store}: {exc.strerror or exc} ({exc.filename})") from None
        for _ in range(2):
            holder = self._holder()
            if holder is not None:
                if not self._is_stale(holder):
                    raise MepipeError(
                        f"{self.store} is being built by another mepipe (pid {holder.get('pid')} on "
                        f"{holder.get('host')}, since {holder.get('started')}); wait for it, or delete "
                        f"{self.path} if that build is gone"
                    )
                self.fs.rm(self.path)
            try:
                self._write(exclusive=True)
                break
            except FileExistsError:
                continue  # another build took it between our look and our write: look again
            except OSError as exc:
                raise MepipeError(
                    f"cannot write the store {self.store}: cannot create its lock file "
                    f"{self.path} ({exc.strerror or exc})"
                ) from None
        else:
            raise MepipeError(f"{self.store}: could not take the build lock {self.path}")
        self._thread = threading.Thread(target=self._beat, name="mepipe-lock", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            self._write(exclusive=False)

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        holder = self._holder()
        if holder and holder.get("pid") == self._me["pid"] and holder.get("host") == self._me["host"]:
            self.fs.rm(self.path)

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
