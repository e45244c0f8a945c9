"""What a review of ``curate run`` on Ray found: tasks got SRC and OUT as typed (a worker whose
folder is not the driver's found no source, its parts went elsewhere, and the run wrote an empty
manifest with exit 0); a broken model failed every source under Ray instead of stopping the run
in one line; no ``ray`` package was a traceback; SIGTERM crashed Ray's driver (SIGABRT); an
address from $RAY_ADDRESS was called ``--ray-address``, a failed join gave no hint of token
authentication, ``auto`` named Ray's own ``--address``; ``--workers`` with a cluster was
dropped without a word; a Ctrl-C while a local Ray started left an OUT holding only ``.ray``.

One local Ray session for the tests that need one (each start costs several seconds), its
workers in a folder of their own (``runtime_env`` working_dir) as a cluster's are: a relative
path a task gets is then not the driver's. The other tests start no Ray."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from data_curation.cli import main, run_exit_code
from data_curation.engine import _remove_if_empty, process_source, record_lost_source, run
from data_curation.manifest import ERRORS_KEY, compact, part_path
from data_curation.ray_runner import AUTH_HINT, _run_ray, connect_interrupted, join_error, missing_parts
from data_curation.recipe import load_recipe


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _broken_clip(folder: Path) -> Path:
    """A CLIP folder that passes the recipe check (config.json of a CLIP, a .safetensors file)
    and does not load: its weights are not safetensors."""
    folder.mkdir()
    layers = {"hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 1}
    (folder / "config.json").write_text(json.dumps({"model_type": "clip", "projection_dim": 8,
                                                    "text_config": layers, "vision_config": layers}))
    (folder / "model.safetensors").write_bytes(os.urandom(256))
    return folder


# --- no Ray started ---------------------------------------------------------------------------

def test_a_broken_model_stops_a_ray_run_in_one_line_before_ray_starts(src, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    clip, out = _broken_clip(tmp_path / "clip"), tmp_path / "o"
    rc = main(["run", str(src), "--out", str(out), "--workers", "1", "--quiet",
               "--set", f"models.clip={clip}", "scorers=[motion,clip]", "rules=[]"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith(f"curate run: models.clip {clip}: cannot load a CLIP model") and err.count("\n") == 1, err
    assert not out.exists()  # nor OUT/.ray: Ray never started


def test_no_ray_package_is_one_line_and_leaves_no_out(src, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    out = tmp_path / "o"
    assert main(["run", str(src), "--out", str(out), "--quiet"]) == 2
    assert capsys.readouterr().err == ('curate run: Ray is not installed (pip install -e ".[curate]"), '
                                       "or run without Ray: --workers 0\n")
    assert not out.exists()


def test_a_rerun_with_nothing_to_do_needs_no_ray(src, tmp_path, capsys, monkeypatch):
    """Ray was required before the sources were planned: a rerun of a finished OUT on a machine
    without Ray (a laptop copy of the results) exited 2 instead of saying all were done."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    out = tmp_path / "o"
    assert main(["run", str(src), "--out", str(out), "--workers", "0", "--quiet"]) in (0, 1)
    before = pq.read_table(out / "manifest.parquet").to_pylist()
    capsys.readouterr()
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    rc = main(["run", str(src), "--out", str(out)])
    captured = capsys.readouterr()
    assert rc in (0, 1) and "Ray is not installed" not in captured.err, captured.err
    assert pq.read_table(out / "manifest.parquet").to_pylist() == before


def test_an_address_from_the_environment_is_named_so(src, tmp_path, capsys, monkeypatch):
    addr = f"127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("RAY_ADDRESS", addr)
    out = tmp_path / "o"
    assert main(["run", str(src), "--out", str(out), "--workers", "2", "--quiet"]) == 2
    err = capsys.readouterr().err.splitlines()  # one line: no warning of --workers for an address that fails
    assert len(err) == 1 and err[0].startswith(f"curate run: $RAY_ADDRESS={addr}: cannot connect"), err
    monkeypatch.delenv("RAY_ADDRESS")
    assert main(["run", str(src), "--out", str(out), "--ray-address", addr, "--quiet"]) == 2
    err = capsys.readouterr().err.splitlines()  # the flag is named as the flag
    assert len(err) == 1 and err[0].startswith(f"curate run: --ray-address {addr}: cannot connect"), err
    assert not out.exists()


def test_join_errors_name_ray_address_and_hint_at_token_authentication():
    # Ray's text for `auto` with no cluster (ray/_private/services.py)
    ray_auto = ConnectionError("Could not find any running Ray instance. Please specify the one to connect to by "
                               "setting `--address` flag or `RAY_ADDRESS` environment variable.")
    msg = str(join_error("auto", "--ray-address auto", ray_auto))
    assert msg.startswith("--ray-address auto: Could not find any running Ray instance")
    assert "--ray-address HOST:PORT" in msg and "`--address`" not in msg and "\n" not in msg  # no cluster: no hint
    # Ray's ConnectionError after 20 s of "InvalidAuthToken" from a head started by `ray start`
    msg = str(join_error("10.0.0.5:6379", "$RAY_ADDRESS=10.0.0.5:6379",
                         ConnectionError("Failed to connect to Ray cluster at 10.0.0.5:6379")))
    assert msg.splitlines() == ["$RAY_ADDRESS=10.0.0.5:6379: Failed to connect to Ray cluster at 10.0.0.5:6379",
                                AUTH_HINT]
    assert "RAY_AUTH_MODE=token" in AUTH_HINT and "--ray-address auto" in AUTH_HINT
    assert str(connect_interrupted("10.0.0.5:6379")).splitlines()[1:] == [AUTH_HINT]


def test_an_out_holding_only_a_ray_session_is_removed(tmp_path):
    """A Ctrl-C while a local Ray started left OUT with only ``.ray`` in it."""
    out = tmp_path / "o"
    (out / ".ray" / "session_x" / "logs").mkdir(parents=True)
    (out / ".ray" / "session_x" / "logs" / "gcs.out").write_text("log")
    _remove_if_empty(out)
    assert not out.exists()
    (out / ".ray").mkdir(parents=True)
    (out / "parts").mkdir()  # something scored: it stays, and so does the session
    _remove_if_empty(out)
    assert {p.name for p in out.iterdir()} == {".ray", "parts"}


def test_a_run_with_missing_parts_exits_nonzero():
    summary = {"sources": 4, "failed": 1, "clips": 6, "clips_failed": 0, "parts_missing": 1}
    assert run_exit_code(summary) == 1
    assert run_exit_code({**summary, "parts_missing": 0}) == 0


def test_parts_keyed_with_model_paths_as_typed_are_still_done(tmp_path, monkeypatch, pan):
    """Model paths now count absolute in a part's recipe key; parts written before, keyed with
    the path as typed, are not scored again."""
    from test_scorers import _tiny_clip

    from data_curation.manifest import RECIPE_KEY
    from data_curation.recipe import scoring_key

    (tmp_path / "src").mkdir()
    pan(tmp_path / "src" / "pan.mp4")
    _tiny_clip(tmp_path / "clip")
    monkeypatch.chdir(tmp_path)
    over = ["models.clip=clip", "scorers=[motion,clip]", "rules=[]"]
    assert run(["src"], "out", "quick", over, workers=0, progress=False)["processed"] == 1
    recipe = load_recipe("quick", over)
    assert scoring_key(recipe, as_typed=True) != scoring_key(recipe)
    part = next(Path("out/parts").glob("*.parquet"))
    table = pq.read_table(part)
    meta = {**table.schema.metadata, RECIPE_KEY.encode(): scoring_key(recipe, as_typed=True).encode()}
    pq.write_table(table.replace_schema_metadata(meta), part)  # as the previous version wrote it
    assert run(["src"], "out", "quick", over, workers=0, progress=False)["processed"] == 0


# --- one local Ray session, its workers in another folder ------------------------------------

@pytest.fixture(scope="module")
def ray_elsewhere():
    """A local Ray whose workers run in a folder of their own, as a cluster's nodes do."""
    ray = pytest.importorskip("ray")
    root = Path(tempfile.mkdtemp(prefix="rdc", dir="/tmp"))  # short: Ray's socket paths
    (root / "wd").mkdir()
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, _temp_dir=str(root / "ray"),
             runtime_env={"working_dir": str(root / "wd")})
    yield ray
    ray.shutdown()
    shutil.rmtree(root, ignore_errors=True)


def test_tasks_get_absolute_paths_and_workers_with_a_cluster_warn(ray_elsewhere, tmp_path, monkeypatch, pan):
    """SRC and OUT as typed, relative: a worker in another folder found no source and wrote its
    part under its own folder; the driver found no part and wrote an empty manifest. The
    session is joined by its address, as a cluster is: ``--workers`` then says it is ignored
    (before, not a word)."""
    (tmp_path / "src").mkdir()
    pan(tmp_path / "src" / "pan.mp4")
    monkeypatch.chdir(tmp_path)
    addr = ray_elsewhere.get_runtime_context().gcs_address
    with pytest.warns(UserWarning, match=f"^--workers 2 is ignored with --ray-address {addr}: a cluster joined"):
        s = run(["src"], "out", "quick", workers=2, ray_address=addr, progress=False)
    assert (s["failed"], s["parts_missing"], s["clips"]) == (0, 0, 1), s
    assert pq.read_table("out/manifest.parquet").column("source").to_pylist() == ["src/pan.mp4"]  # as typed


def test_a_relative_model_path_reaches_a_worker_elsewhere(ray_elsewhere, tmp_path, monkeypatch, pan):
    """``--set models.clip=clip`` typed in the driver's folder: a worker in its own folder found
    no model there and every source failed. Tasks now get the path absolute, and the part's
    recipe key is the one the driver plans with, so a rerun (Ray or not) has nothing to do."""
    from test_scorers import _tiny_clip

    (tmp_path / "src").mkdir()
    pan(tmp_path / "src" / "pan.mp4")
    import torch
    from safetensors.torch import save_file

    _tiny_clip(tmp_path / "clip")
    save_file({"weight": torch.ones(1, 8), "bias": torch.tensor([5.0])}, str(tmp_path / "head.safetensors"))
    monkeypatch.chdir(tmp_path)
    addr = ray_elsewhere.get_runtime_context().gcs_address
    over = ["models.clip=clip", "models.aesthetic_head=head.safetensors", "scorers=[motion,clip]", "rules=[]"]
    s = run(["src"], "out", "quick", over, ray_address=addr, progress=False)
    assert (s["failed"], s["clips_failed"], s["clips"]) == (0, 0, 1), s
    assert pq.read_table("out/manifest.parquet").column("aesthetic").to_pylist()[0] is not None
    assert run(["src"], "out", "quick", over, workers=0, progress=False)["processed"] == 0


def test_a_part_written_elsewhere_is_a_failed_source(ray_elsewhere, tmp_path, pan):
    """A task that wrote its part where the driver does not see it (a node without OUT) is a
    failed source of the machine's kind (a rerun tries it again), counted as missing."""
    a, b = pan(tmp_path / "a.mp4"), pan(tmp_path / "b.mp4")
    out, elsewhere = tmp_path / "out", str(tmp_path / "node2_out")

    def process(path, recipe, out_dir):  # b's node has an OUT of its own
        return process_source(path, recipe, elsewhere if path.endswith("b.mp4") else out_dir)

    recipe = load_recipe("quick")
    results = _run_ray([str(a), str(b)], recipe, out, 1, None, False, process, record_lost_source)
    assert [r["path"] for r in results if r.get("missing")] == [str(b)]
    assert missing_parts([str(a), str(b)], out) == []
    assert part_path(elsewhere, b).is_file()  # scored, but on the other side
    row = compact(out, [str(b)]).to_pylist()[0]
    assert row["error"].startswith(f"FileNotFoundError: {b}: its Ray task ended but its part file is not in")
    assert pq.read_metadata(part_path(out, b)).metadata[ERRORS_KEY.encode()] == b"machine"
    assert compact(out, [str(a)]).to_pylist()[0]["error"] is None


def _sigterm_after_the_first_part(tmp_path, capsys, pan, workers: int):
    """``curate run`` on four clips in this process, sent SIGTERM once the first part is written:
    it must end as Ctrl-C does (one line, exit 130). Returns OUT and the SIGTERM handler from
    before the run."""
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    for i in range(4):
        pan(src / f"p{i}.mp4")
    before = signal.getsignal(signal.SIGTERM)

    def term_after_first_part():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list((out / "parts").glob("*.parquet")):
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=term_after_first_part, daemon=True).start()
    rc = main(["run", str(src), "--out", str(out), "--workers", str(workers), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 130 and "curate run: interrupted; rerun the same command to resume" in err, err
    return out, before


def test_sigterm_during_a_ray_run_is_an_interrupt(ray_elsewhere, tmp_path, capsys, pan):
    """Ray's own SIGTERM handler killed its processes and exited under them (a C++ crash dump,
    SIGABRT); now it is Ctrl-C's one line and exit 130, the handler from before put back.
    Last here: without the fix, Ray's handler ends the module's session."""
    out, before = _sigterm_after_the_first_part(tmp_path, capsys, pan, workers=1)
    assert signal.getsignal(signal.SIGTERM) is before


def test_sigterm_during_a_local_run_is_an_interrupt(tmp_path, capsys, pan):
    """--workers 0 too: SIGTERM (what timeout, Slurm and docker stop send) is Ctrl-C's one line
    and exit 130, as the README says of every run (it killed the process silently, exit 143),
    and the handler from before comes back."""
    out, before = _sigterm_after_the_first_part(tmp_path, capsys, pan, workers=0)
    assert signal.getsignal(signal.SIGTERM) is before
    assert 1 <= len(list((out / "parts").glob("*.parquet"))) < 4  # finished sources kept, the rest left
