"""Issue 35: a rerun without ``--flow`` takes the flow implementation a store records,
with a one-line note; stores made by OpenCV's TV-L1 before mepipe had its own read as
``tvl1-opencv``; only an explicitly different method is refused (clip stores here; the
spotting store's case is in tests/test_softnet_regions.py)."""

from __future__ import annotations

import zarr
from click.testing import CliRunner

from mepipe.cli import cli
from mepipe.imaging import flow as flowlib


def test_a_plain_rerun_of_an_opencv_flow_store_resumes_as_tvl1_opencv(casme2_release, tmp_path):
    store = str(tmp_path / "s.zarr")
    base = ["build", "--dataset", "casme2", "--root", str(casme2_release), "--out", store, "--quiet", "--size", "32"]
    runner = CliRunner()
    made = runner.invoke(cli, [*base, "--arrays", "onset,apex,flow", "--flow", "tvl1-opencv"])
    assert made.exit_code == 0, made.output
    # as mepipe wrote it before its own TV-L1: OpenCV's defaults named tvl1, no implementation
    group = zarr.open_group(store, mode="r+", use_consolidated=False)
    attrs = dict(group.attrs["mepipe"])
    parameters = dict(attrs["flow"]["parameters"])
    del parameters[flowlib.IMPLEMENTATION]
    attrs["config"] = {**attrs["config"], "flow": "tvl1"}
    attrs["flow"] = {"method": "tvl1", "parameters": parameters}
    group.attrs["mepipe"] = attrs
    again = runner.invoke(cli, base)
    assert again.exit_code == 0, again.output
    assert "built now 0" in again.stdout
    note = [line for line in again.stderr.splitlines() if line.startswith("note:")]
    assert note == [f"note: {store} holds flow made by tvl1-opencv: resuming with --flow tvl1-opencv"]
    other = runner.invoke(cli, [*base, "--flow", "tvl1"])  # explicitly another: refused
    assert other.exit_code == 1 and "flow='tvl1-opencv'" in other.output and "flow='tvl1'" in other.output
