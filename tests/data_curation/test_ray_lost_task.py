"""A Ray task that fails (its exception, or its worker's death) is its source's error row, not
the end of the run: the other sources' results are kept and counted (before, the first failure
stopped the run and killed the sources still in flight). Real local Ray; ``_gather`` takes the
task function as a parameter, as the engine passes it ``process_source``."""

import itertools
import time

import pyarrow.parquet as pq
import pytest

from data_curation.engine import record_lost_source
from data_curation.manifest import ERRORS_KEY, part_path
from data_curation.ray_runner import _gather
from data_curation.recipe import load_recipe


@pytest.fixture(scope="module")
def ray_session():
    """One local Ray session (4 CPUs: more than the window the test below sets) for this file."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=4, include_dashboard=False, _temp_dir="/tmp/ray_lost_task", log_to_driver=False)
    yield ray
    ray.shutdown()


def test_a_failed_task_is_an_error_row_and_the_others_finish(tmp_path, ray_session):
    sources = []
    for name in ("a", "bad", "c"):
        f = tmp_path / f"{name}.mp4"
        f.write_bytes(b"x")
        sources.append(str(f))
    out = tmp_path / "out"
    (out / "parts").mkdir(parents=True)

    def process(path, recipe, out_dir):  # a closure: Ray ships it by value
        if path.endswith("bad.mp4"):
            raise PermissionError(13, "Permission denied", path)
        return {"path": path, "rows": 2, "failed": 0}

    results = _gather(sources, load_recipe("quick"), str(out), False, process, record_lost_source)
    by_path = {r["path"]: r for r in results}
    assert set(by_path) == set(sources)
    assert by_path[sources[1]]["failed"] == 1 and by_path[sources[0]]["failed"] == 0
    part = part_path(out, sources[1])
    row = pq.read_table(part).to_pylist()[0]
    assert row["clip_id"].endswith(":error") and row["error"].startswith("PermissionError")
    assert pq.read_metadata(part).metadata[ERRORS_KEY.encode()] == b"machine"  # a rerun tries it again


def test_no_more_tasks_in_flight_than_the_window(tmp_path, ray_session):
    """Sources are handed out as tasks finish, at most ``window`` at once, even where the cluster
    has more free CPUs: with a window of one, each task records when it ran and no two overlap
    (without the window, two or more of the 4 CPUs' workers run at once). Every source still
    comes back once."""
    sources = [str(tmp_path / f"{i}.mp4") for i in range(4)]

    def process(path, recipe, out_dir):
        t0 = time.time()
        time.sleep(0.5)
        return {"path": path, "rows": 1, "failed": 0, "ran": (t0, time.time())}

    results = _gather(sources, load_recipe("quick"), str(tmp_path), False, process, record_lost_source, window=1)
    assert sorted(r["path"] for r in results) == sorted(sources)
    spans = sorted(r["ran"] for r in results)
    assert all(b0 <= a1 for (_, b0), (a1, _) in itertools.pairwise(spans)), spans  # one after another
