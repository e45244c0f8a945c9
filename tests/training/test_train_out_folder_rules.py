"""``video train out=DIR`` trains only in a new or empty folder or a run folder, and replaces
``final/`` only when it holds nothing but an export: trained in a user's own folder it deleted
their ``final/`` and overwrote their ``config.yaml``. An ``out`` that is a file is one line. What
an interrupted run, or an older version of the code, left still resumes and re-exports."""

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from video import atomic
from video.cli import main
from video.config import load_config, to_dict
from video.training.config import TrainConfig
from video.training.resume import LOCK
from video.training.run_folder import NotARunFolder, is_run_folder
from video.training.trainer import train


def tiny(run: Path, steps: int = 1) -> TrainConfig:
    return load_config(TrainConfig, "configs/train/dit_stage1_image.yaml",
                       [f"out={run}", f"steps={steps}", "batch_size=1", "data.frames=1", "data.height=16",
                        "data.width=16", "data.size=2", "init_from=", "log_every=1"])


def listing(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): (p.read_text() if p.is_file() else "/")
            for p in sorted(folder.rglob("*"))}


def test_a_users_own_folder_is_refused_before_anything_is_written(tmp_path):
    d = tmp_path / "d"
    (d / "final").mkdir(parents=True)
    (d / "samples").mkdir()
    (d / "final" / "keep.txt").write_text("mine")
    (d / "config.yaml").write_text("user cfg\n")
    (d / "notes.txt").write_text("mine")
    before = listing(d)
    with pytest.raises(NotARunFolder) as e:
        train(tiny(d), progress=False)
    msg = str(e.value)
    assert msg.startswith(f"refusing to train in {d}: it is not a run folder") and "\n" not in msg
    assert "holds config.yaml and 3 more entries" in msg
    assert listing(d) == before  # nothing written, not even the lock file left behind


def test_a_handwritten_train_config_does_not_make_a_run_folder(tmp_path):
    d = tmp_path / "cfgs"
    d.mkdir()
    (d / "config.yaml").write_text("task: dit_t2v\nsteps: 5\nout: cfgs\n")  # a few keys: not a run's dump
    assert not is_run_folder(d)
    with pytest.raises(NotARunFolder, match="holds config.yaml, which video train did not write"):
        train(tiny(d), progress=False)
    assert (d / "config.yaml").read_text() == "task: dit_t2v\nsteps: 5\nout: cfgs\n"


def test_out_that_is_a_file_is_one_line(tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("x")
    for out, said in ((f, f"out={f} is a file: "), (f / "sub", f"out={f / 'sub'} lies under {f}, which is a file: ")):
        assert main(["train", "dit_stage1_image", f"out={out}", "steps=1"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {said}") and err.count("\n") == 1 and "Errno" not in err, err
    assert f.read_text() == "x"


def test_what_an_interrupted_run_leaves_still_trains(tmp_path):
    # killed before its config was whole: its lock file, the config's hidden temporary, a save's
    early = tmp_path / "early"
    (early / "checkpoints" / ".step_0000001.abcd1234.partial").mkdir(parents=True)
    (early / LOCK).write_text("123\n")
    (early / ".config.abcd1234.partial.yaml").write_text("")
    # an older version wrote config.yaml first thing: a run that failed on its data left only that
    old = tmp_path / "old"
    old.mkdir()
    OmegaConf.save(OmegaConf.create(to_dict(tiny(old))), old / "config.yaml")
    assert is_run_folder(old) and not is_run_folder(early)
    for run in (early, old):
        assert train(tiny(run), progress=False)["step"] == 1
        assert (run / "final" / "trained.json").is_file()


def test_a_users_file_in_final_is_refused_before_training(tmp_path):
    run = tmp_path / "r"
    train(tiny(run), progress=False)
    (run / "final" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"final: it holds keep\.txt, which this tool did not write"):
        train(tiny(run, steps=2), progress=False)
    assert (run / "final" / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_0000001"]  # refused before step 2
    assert "trained.json" in json.loads((run / "final" / atomic.MARKER).read_text())["written"]  # the export's


def test_an_older_versions_export_is_replaced_but_a_users_file_in_it_is_not(tmp_path):
    """An export from before exports had a marker (none, or an old empty one) is re-exported on
    a resume, and gets a marker listing its names; a file beside it that no export writes is refused."""
    run = tmp_path / "r"
    train(tiny(run), progress=False)
    final = run / "final"
    (final / atomic.MARKER).unlink(missing_ok=True)  # as every export before markers
    (final / "keep.txt").write_text("mine")
    with pytest.raises(NotARunFolder, match=rf"refusing to replace {final} with this run's export: it holds "
                                            r"keep\.txt, which video train did not write"):
        train(tiny(run, steps=2), progress=False)
    (final / "keep.txt").unlink()
    for steps, marker in ((2, None), (3, "")):
        if marker is not None:
            (final / atomic.MARKER).write_text(marker)
        summary = train(tiny(run, steps=steps), progress=False)
        assert summary["step"] == steps and json.loads((final / "trained.json").read_text())["step"] == steps
        written = json.loads((final / atomic.MARKER).read_text())["written"]
        assert "trained.json" in written and "model/video_pipeline.yaml" in written
