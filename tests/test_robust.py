"""Promises under faults: verify, repair on resume, the build lock, a disk that fills up."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

from mepipe.build import build
from mepipe.engine.lock import StoreLock
from mepipe.errors import MepipeError
from mepipe.store import FAILED, OK, read_columns
from mepipe.store.verify import verify_store

from .test_build import assert_same_arrays


def mepipe(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mepipe", *args], capture_output=True, text=True, **kwargs)


@pytest.fixture
def store_copy(casme2_store, tmp_path) -> str:
    copy = str(tmp_path / "copy.zarr")
    shutil.copytree(casme2_store, copy)
    return copy


def chunk(store: str, array: str, index: int) -> Path:
    return Path(store) / array / "c" / str(index) / "0" / "0" / "0"


def test_intact_store_verifies(casme2_store):
    report = verify_store(casme2_store)
    assert report.ok and report.checked == read_columns(zarr.open_group(casme2_store)).get("status").size
    result = mepipe("verify", casme2_store, "--quiet")
    assert result.returncode == 0 and ", 0 damaged" in result.stdout


def test_corrupted_and_missing_chunks_are_found_then_rebuilt(store_copy, casme2_store, casme2_release):
    chunk(store_copy, "trdi", 1).write_bytes(b"\x00garbage" * 10)
    chunk(store_copy, "midi", 2).unlink()
    ids = [str(s) for s in zarr.open_group(store_copy)["sample_id"][:]]
    result = mepipe("verify", store_copy, "--quiet")
    assert result.returncode == 1
    damaged = [line for line in result.stdout.splitlines() if line.startswith("damaged")]
    assert len(damaged) == 2
    assert f"{ids[1]} (#1): unreadable chunk" in damaged[0]
    assert f"{ids[2]} (#2): checksum mismatch" in damaged[1]
    summary = build("casme2", casme2_release, store_copy, size=64, progress=False)
    assert summary.repaired_damage == 2 and summary.built == 2
    assert verify_store(store_copy).ok
    assert_same_arrays(casme2_store, store_copy)


def test_failed_samples_are_not_damage(store_copy):
    group = zarr.open_group(store_copy, mode="r+")
    group["status"][0] = FAILED
    group["error"][0] = "no face found"
    report = verify_store(store_copy)
    assert report.ok and report.checked == group["status"].shape[0] - 1


def test_second_build_on_same_store_refuses(casme2_release, tmp_path):
    store = str(tmp_path / "locked.zarr")
    with StoreLock(store):
        result = mepipe(
            "build", "--dataset", "casme2", "--root", str(casme2_release), "--out", store, "--size", "64", "--quiet"
        )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert f"{store} is being built by another mepipe (pid {os.getpid()} on {socket.gethostname()}" in result.stderr
    assert not Path(store + ".lock").exists()  # released on exit


def test_stale_locks_are_taken_over(tmp_path):
    store = str(tmp_path / "s.zarr")
    lock = Path(store + ".lock")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": int(dead), "heartbeat": time.time()}))
    with StoreLock(store):  # same host, process gone
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    lock.write_text(json.dumps({"host": "elsewhere", "pid": 1, "heartbeat": time.time() - 3600}))
    with StoreLock(store):  # another host, heartbeat an hour old
        pass
    lock.write_text(json.dumps({"host": "elsewhere", "pid": 1, "heartbeat": time.time(), "started": "now"}))
    with pytest.raises(MepipeError, match="pid 1 on elsewhere"):
        StoreLock(store).acquire()


@pytest.fixture
def small_tmpfs(tmp_path):
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if result.returncode:
        pytest.skip(f"cannot mount a small tmpfs to fill up here: {result.stderr.strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_disk_full_stops_cleanly_and_resumes(casme2_release, small_tmpfs, tmp_path):
    store = str(small_tmpfs / "full.zarr")
    args = ("build", "--dataset", "casme2", "--root", str(casme2_release), "--out", store, "--size", "160", "--quiet")
    result = mepipe(*args)
    assert result.returncode == 1, result.stdout
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "No space left on device" in result.stderr and "rerun the same command to resume" in result.stderr
    status = zarr.open_group(store, mode="r")["status"][:]
    assert 0 < np.sum(status == OK) < status.size
    assert verify_store(store).ok  # what was committed before the disk filled is intact
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_tmpfs)], check=True)
    result = mepipe(*args)
    assert result.returncode == 0, result.stderr
    reference = str(tmp_path / "reference.zarr")
    build("casme2", casme2_release, reference, size=160, progress=False)
    assert_same_arrays(reference, store)
