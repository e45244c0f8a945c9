"""The training loop on tiny models: it learns, it resumes exactly, it survives bad steps,
and the staged SVD recipe ends in a folder the runtime loads."""

import json

import torch
from safetensors.torch import load_file

from video.config import load_config
from video.training.config import TrainConfig
from video.training.tasks import TASKS
from video.training.trainer import train


def cfg(tmp_path, name, *overrides) -> TrainConfig:
    return load_config(TrainConfig, f"configs/train/{name}.yaml",
                       [f"out={tmp_path / name}", "log_every=1", *overrides])


def fixed_loss(task, batch, seed=123):
    with torch.no_grad():
        return task.loss(batch, torch.Generator().manual_seed(seed)).mean().item()


def test_loss_falls_on_a_fixed_small_batch(tmp_path):
    from video.training.loading import collate
    from video.training.tasks import make_dataset

    c = cfg(tmp_path, "dit_stage1_image", "steps=25", "batch_size=4", "data.size=4", "optim.lr=3e-3",
            "data.height=32", "data.width=32",
            "optim.warmup_steps=0", "objective.caption_dropout=0", "ckpt_every=1000")
    task = TASKS[c.task](c)
    batch = collate([make_dataset(c)[i] for i in range(4)])
    before = sum(fixed_loss(task, batch, s) for s in range(4))
    train(c, progress=False)
    trained = TASKS[c.task](load_config(TrainConfig, None, [f"model={c.model}", f"init_from={c.out}"]))
    after = sum(fixed_loss(trained, batch, s) for s in range(4))
    assert after < 0.7 * before, (before, after)


def test_resume_equals_no_interruption(tmp_path):
    base = ["steps=6", "ckpt_every=3", "batch_size=2", "ema_decay=0.9", "optim.warmup_steps=2", "init_from="]
    full = train(cfg(tmp_path / "a", "dit_stage2_video", *base, "data.frames=5"), progress=False)
    b = cfg(tmp_path / "b", "dit_stage2_video", *base, "data.frames=5", "ckpt_keep=1")
    first = train(b, progress=False, stop_after=4)  # dies after step 4; the last checkpoint is step 3
    assert first["step"] == 4 and not (tmp_path / "b" / "dit_stage2_video" / "final").exists()
    second = train(b, progress=False)
    assert second["losses"] == full["losses"][3:]
    wa = load_file(str(tmp_path / "a" / "dit_stage2_video" / "final" / "trainable.safetensors"))
    wb = load_file(str(tmp_path / "b" / "dit_stage2_video" / "final" / "trainable.safetensors"))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    logged = [json.loads(ln)["step"] for ln in (tmp_path / "b" / "dit_stage2_video" / "metrics.jsonl").read_text().splitlines()]
    assert logged == [1, 2, 3, 4, 5, 6]  # no duplicated or lost rows
    kept = sorted(p.name for p in (tmp_path / "b" / "dit_stage2_video" / "checkpoints").iterdir())
    assert kept == ["step_0000006"]  # ckpt_keep=1: step 3 went once step 6 was whole
    assert len(list((tmp_path / "a" / "dit_stage2_video" / "checkpoints").iterdir())) == 2  # default keeps 3


def test_non_finite_steps_are_skipped_not_applied(tmp_path):
    c = cfg(tmp_path, "stage1_image", "steps=3", "batch_size=2", "objective.p_mean=1000", "ckpt_every=1000")
    task_before = TASKS[c.task](c)
    summary = train(c, progress=False)
    assert summary["skipped"] == 3
    after = load_file(str(tmp_path / "stage1_image" / "final" / "trainable.safetensors"))
    assert all(torch.equal(after[k], v) for k, v in task_before.model.state_dict().items())


def test_svd_stages_chain_into_a_runtime_model(tmp_path):
    from video.runtime.img2vid import ImageToVideo

    small = ["steps=2", "batch_size=1", "ckpt_every=1000", "data.size=4"]
    train(cfg(tmp_path, "stage1_image", *small), progress=False)
    s2 = cfg(tmp_path, "stage2_video", *small, "data.frames=4", f"init_from={tmp_path / 'stage1_image'}")
    train(s2, progress=False)
    s3 = cfg(tmp_path, "stage3_hq", *small, "data.frames=4", "data.height=64", "data.width=64",
             f"init_from={tmp_path / 'stage2_video'}")
    out = train(s3, progress=False)
    assert out["preview"].endswith(".mp4")
    pipe = ImageToVideo.from_pretrained(tmp_path / "stage3_hq" / "final" / "model")
    frames = pipe((torch.rand(1, 3, 64, 64)), num_frames=3, height=64, width=64, num_inference_steps=2)
    assert frames.shape == (3, 64, 64, 3)
