"""A rerun of a finished run whose task renders no preview (SVD stage 1, an image model) does
nothing: it took the "render the missing preview" path on every rerun (weights cloned and
loaded again, a collective under FSDP) only to print that nothing was done."""
import pytest

from video.cli import main


def test_a_finished_image_stage_is_not_exported_again(tmp_path, capsys, monkeypatch):
    from video.training import trainer

    args = ["train", "stage1_image", "steps=2", "batch_size=1", "data.size=2", "data.height=32", "data.width=32",
            "ckpt_every=2", f"out={tmp_path / 'run'}"]
    assert main(args) == 0
    capsys.readouterr()
    monkeypatch.setattr(trainer, "_export", lambda *a, **k: pytest.fail("exported again"))
    assert main(args) == 0
    assert "already holds step 2 of this config" in capsys.readouterr().out
