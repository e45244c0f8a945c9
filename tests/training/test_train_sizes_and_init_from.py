"""A trained size or frame count the model cannot take is refused in one line naming its key
before the run folder is made (it trained and exported a size ``video txt2vid`` refuses, or
failed at the first step naming no key); ``init_from`` says what it loaded, refuses a run whose
``final/`` is older than its latest checkpoint, and takes a ``final/model`` runtime folder."""

import pytest
import torch
from safetensors.torch import load_file

from video.config import CONFIG_DIR, ConfigError, load_config
from video.training.config import TrainConfig
from video.training.tasks import TASKS

TINY = ["batch_size=1", "data.frames=1", "data.height=16", "data.width=16", "data.size=2", "init_from=",
        "log_every=1"]


def stage(name: str, *overrides: str) -> TrainConfig:
    return load_config(TrainConfig, CONFIG_DIR / "train" / f"{name}.yaml", list(overrides))


def test_a_size_the_dit_cannot_take_is_refused_before_the_run_folder(tmp_path):
    from video.training.trainer import train

    run = tmp_path / "h40"
    with pytest.raises(ConfigError, match=r"^data\.height=40: must be a multiple of 16 for this model "
                                          r"\(VAE x8 times patch 2\)$"):
        train(stage("dit_stage1_image", f"out={run}", *TINY, "steps=1", "data.height=40"), progress=False)
    assert not run.exists()


@pytest.mark.parametrize("overrides, said", [
    (["data.height=36"], "data.height=36: must be a multiple of 16"),  # the VAE rounded it down and trained
    (["data.width=40"], "data.width=40: must be a multiple of 16"),
    (["data.buckets=[[16,16],[40,16]]", "data.height=20"], r"data.buckets entry \[40, 16\]: height 40 must be a multiple of 16"),
])
def test_each_trained_size_is_checked_naming_its_key(overrides, said):
    with pytest.raises(ConfigError, match=f"^{said}"):
        TASKS["dit_t2v"](stage("dit_stage1_image", *TINY, *overrides))


def test_a_bucketed_run_checks_its_buckets_not_the_fixed_size():
    TASKS["dit_t2v"](stage("dit_stage1_image", *TINY, "data.buckets=[[16,16],[16,32]]", "data.height=40"))


def test_an_svd_size_img2vid_would_round_is_refused():
    with pytest.raises(ConfigError, match=r"^data\.height=36: must be a multiple of 16 for this model"):
        TASKS["svd_i2v"](stage("stage2_video", *TINY, "data.frames=2", "data.height=36"))


def test_the_video_vae_frame_rule_names_the_key():
    from diffusers import AutoencoderKLWan

    from video.models.latents import VideoVAELatents
    from video.runtime.txt2vid import TextToVideo, build_tiny
    from video.training.sizes import check_dit_sizes

    models = build_tiny()
    models.latents = VideoVAELatents(AutoencoderKLWan(base_dim=32, z_dim=4, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                                                      temperal_downsample=[False, True, True]))
    runtime = TextToVideo(models)
    check_dit_sizes(runtime, stage("dit_stage2_video", *TINY, "data.frames=5"))
    with pytest.raises(ConfigError, match=r"^data\.frames=6: this video VAE takes 4k\+1 frames"):
        check_dit_sizes(runtime, stage("dit_stage2_video", *TINY, "data.frames=6"))
    with pytest.raises(ConfigError, match=r"^data\.frame_buckets entry 8: this video VAE takes 4k\+1 frames"):
        check_dit_sizes(runtime, stage("dit_stage2_video", *TINY, "data.frame_buckets=[1,5,8]"))


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    """A stage-1 run that finished at step 2, then was rerun with steps=4 and stopped at step 3:
    its final/ holds step 2, its latest checkpoint is step 3."""
    from video.training.trainer import train

    run = tmp_path_factory.mktemp("ext") / "run"
    train(stage("dit_stage1_image", f"out={run}", *TINY, "steps=2", "ckpt_every=1"), progress=False)
    train(stage("dit_stage1_image", f"out={run}", *TINY, "steps=4", "ckpt_every=1", "optim.lr=1e-2"),
          progress=False, stop_after=3)
    assert (run / "checkpoints" / "step_0000003").is_dir()
    return run


def stage2(init_from) -> TrainConfig:
    return stage("dit_stage2_video", *TINY, f"init_from={init_from}")


def test_init_from_a_run_whose_final_is_older_than_its_checkpoints_is_refused(extended):
    ck = extended / "checkpoints" / "step_0000003"
    with pytest.raises(ValueError) as e:
        TASKS["dit_t2v"](stage2(extended))
    msg = str(e.value)
    assert "\n" not in msg and "final/ export holds step 2" in msg and "newer checkpoint, step 3" in msg
    assert f"init_from={ck} (step 3)" in msg and f"init_from={extended / 'final'}" in msg


def test_init_from_says_what_it_loaded(extended, capsys):
    ck = extended / "checkpoints" / "step_0000003"
    task = TASKS["dit_t2v"](stage2(ck))
    assert f"init_from: {ck} (step 3)" in capsys.readouterr().out.splitlines()
    want = load_file(str(ck / "model.safetensors"))
    assert all(torch.equal(v, want[k]) for k, v in task.model.state_dict().items())
    TASKS["dit_t2v"](stage2(extended / "final"))  # the older export, chosen: said, with the newer checkpoint
    assert f"init_from: {extended / 'final'} (step 2; its run went on to {ck} (step 3))" in capsys.readouterr().out


def test_init_from_a_finished_run_names_its_final_step(tmp_path, capsys):
    from video.training.trainer import train

    run = tmp_path / "run"
    train(stage("dit_stage1_image", f"out={run}", *TINY, "steps=1"), progress=False)
    capsys.readouterr()
    TASKS["dit_t2v"](stage2(run))
    assert f"init_from: {run / 'final'} (step 1)" in capsys.readouterr().out.splitlines()


def test_init_from_the_runtime_export_folder(extended, capsys):
    task = TASKS["dit_t2v"](stage2(extended / "final" / "model"))
    assert capsys.readouterr().out.startswith(f"init_from: {extended / 'final' / 'model'} (step 2")
    want = load_file(str(extended / "final" / "trainable.safetensors"))
    assert all(torch.equal(v, want[k]) for k, v in task.model.state_dict().items())
