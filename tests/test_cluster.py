"""Builds on Dask's distributed engine: LocalCluster, CLI-started clusters, a killed worker,
fsspec store URLs, and batch job scripts checked without submitting them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import zarr
from distributed import Client, WorkerPlugin

from mepipe.build import build
from mepipe.engine.cluster import make_cluster
from mepipe.store import OK

from .test_build import assert_same_arrays

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def test_local_cluster_build_equals_threads(casme2_store, casme2_release, tmp_path):
    store = str(tmp_path / "local.zarr")
    with make_cluster("local", workers=2) as cluster, Client(cluster) as client:
        summary = build("casme2", casme2_release, store, size=64, scheduler=client, progress=False)
    assert summary.ok == summary.total
    assert_same_arrays(casme2_store, store)


def test_cli_local_cluster_and_fsspec_url(casme2_store, casme2_release, tmp_path):
    url = (tmp_path / "url.zarr").as_uri()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mepipe",
            "build",
            "--dataset",
            "casme2",
            "--root",
            str(casme2_release),
            "--out",
            url,
            "--size",
            "64",
            "--cluster",
            "local",
            "--workers",
            "2",
            "--quiet",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert_same_arrays(casme2_store, url)


@pytest.fixture
def cli_cluster(tmp_path):
    """A scheduler and two workers started with Dask's own command-line tools."""
    scheduler_file = tmp_path / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]
    processes = [
        subprocess.Popen(
            [
                *dask,
                "scheduler",
                "--scheduler-file",
                str(scheduler_file),
                "--port",
                "0",
                "--host",
                "127.0.0.1",
                "--no-dashboard",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    deadline = time.time() + 60
    while not scheduler_file.exists() and time.time() < deadline:
        time.sleep(0.1)
    processes.append(
        subprocess.Popen(
            [
                *dask,
                "worker",
                "--scheduler-file",
                str(scheduler_file),
                "--nworkers",
                "2",
                "--nthreads",
                "1",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    address = json.loads(scheduler_file.read_text())["address"]
    with Client(address) as client:
        client.wait_for_workers(2, timeout=60)
    yield address
    for process in reversed(processes):
        process.send_signal(signal.SIGINT)
    for process in reversed(processes):
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_cli_build_on_cli_started_cluster(cli_cluster, casme2_store, casme2_release, tmp_path):
    store = str(tmp_path / "tcp.zarr")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mepipe",
            "build",
            "--dataset",
            "casme2",
            "--root",
            str(casme2_release),
            "--out",
            store,
            "--size",
            "64",
            "--scheduler",
            cli_cluster,
            "--quiet",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert_same_arrays(casme2_store, store)


def test_unreachable_scheduler_is_one_line(casme2_release, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mepipe",
            "build",
            "--dataset",
            "casme2",
            "--root",
            str(casme2_release),
            "--out",
            str(tmp_path / "x.zarr"),
            "--scheduler",
            "tcp://127.0.0.1:1",
            "--quiet",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:1" in result.stderr


class KillOnce(WorkerPlugin):
    """SIGKILL the first worker to finish a sample's task, right then, with its result
    not yet collected: once per cluster (the first to create ``marker`` dies)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def transition(self, key, start, finish, **kwargs) -> None:
        if (start, finish) != ("executing", "memory"):
            return
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
        os.kill(os.getpid(), signal.SIGKILL)


def test_killed_worker_build_finishes_identically(casme2_store, casme2_release, tmp_path):
    store = str(tmp_path / "killed-worker.zarr")
    marker = tmp_path / "killed"
    with make_cluster("local", workers=2) as cluster, Client(cluster) as client:
        before = set(client.run(os.getpid).values())
        client.register_plugin(KillOnce(str(marker)))
        summary = build("casme2", casme2_release, store, size=64, scheduler=client, progress=False)
        client.wait_for_workers(2, timeout=60)
        after = set(client.run(os.getpid).values())
    assert marker.exists() and len(before - after) == 1, "one worker was killed (and replaced)"
    assert summary.ok == summary.total and summary.failed == 0
    assert (zarr.open_group(store)["status"][:] == OK).all()
    assert_same_arrays(casme2_store, store)


def test_slurm_job_script_from_options_and_yaml(casme2_release, tmp_path):
    config = tmp_path / "jobqueue.yaml"
    config.write_text(
        "jobqueue:\n  slurm:\n    queue: long\n    cores: 8\n    memory: 32GB\n"
        "    walltime: '04:00:00'\n    job-extra-directives: ['--account=melab']\n"
    )
    base = [
        sys.executable,
        "-m",
        "mepipe",
        "build",
        "--dataset",
        "casme2",
        "--root",
        str(casme2_release),
        "--cluster",
        "slurm",
        "--dry-run",
    ]
    from_yaml = subprocess.run([*base, "--cluster-config", str(config)], capture_output=True, text=True)
    assert from_yaml.returncode == 0, from_yaml.stderr
    script = from_yaml.stdout
    for line in (
        "#SBATCH -p long",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --mem=30G",
        "#SBATCH -t 04:00:00",
        "#SBATCH --account=melab",
    ):
        assert line in script, line
    assert "distributed.cli.dask_worker" in script
    overridden = subprocess.run(
        [*base, "--cluster-config", str(config), "--queue", "short", "--walltime", "00:30:00"],
        capture_output=True,
        text=True,
    )
    assert "#SBATCH -p short" in overridden.stdout and "#SBATCH -t 00:30:00" in overridden.stdout
    assert "#SBATCH --cpus-per-task=8" in overridden.stdout


def test_pbs_job_script_and_missing_cores(casme2_release):
    base = [
        sys.executable,
        "-m",
        "mepipe",
        "build",
        "--dataset",
        "casme2",
        "--root",
        str(casme2_release),
        "--cluster",
        "pbs",
        "--dry-run",
    ]
    result = subprocess.run(
        [*base, "--queue", "batch", "--cores", "4", "--memory", "8GB", "--walltime", "01:00:00"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "#PBS -q batch" in result.stdout and "#PBS -l walltime=01:00:00" in result.stdout
    result = subprocess.run(base, capture_output=True, text=True, env={**os.environ, "DASK_CONFIG": "/nonexistent"})
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "--cluster pbs:" in result.stderr and "cores" in result.stderr


def test_fsspec_memory_store(casme2_store, casme2_release):
    url = "memory://mepipe-test/store.zarr"
    summary = build("casme2", casme2_release, url, size=64, progress=False)
    assert summary.ok == summary.total
    assert_same_arrays(casme2_store, url)
