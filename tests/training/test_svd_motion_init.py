"""SVD stage 2/3: the motion_bucket_id trained with is the one the runtime samples with (127)
unless the config maps motion scores, and a stage-1 run without final/ still seeds stage 2."""

import pytest
import torch

from video.config import load_config
from video.training.config import TrainConfig
from video.training.loading import collate
from video.training.tasks import TASKS, make_dataset
from video.training.trainer import train


def stage2(*overrides) -> TrainConfig:
    return load_config(TrainConfig, "configs/train/stage2_video.yaml", [
        "init_from=", "data.size=2", "data.frames=2", "data.height=32", "data.width=32", *overrides])


def motion_ids_seen(c: TrainConfig) -> torch.Tensor:
    task = TASKS[c.task](c)
    seen, unet = [], task.model
    task.model = lambda x, cn, emb, ids: (seen.append(ids), unet(x, cn, emb, ids))[1]
    batch = collate([make_dataset(c)[i] for i in range(2)])
    assert (batch["motion"] > 0).all()  # the shapes set scores its speed
    with torch.no_grad():
        task.loss(batch, torch.Generator().manual_seed(0))
    return seen[0][:, 1]


def test_training_conditions_on_the_runtimes_motion_bucket():
    assert motion_ids_seen(stage2()).tolist() == [127.0, 127.0]
    assert motion_ids_seen(stage2("objective.motion_bucket_id=40")).tolist() == [40.0, 40.0]


def test_motion_scores_map_to_buckets_when_asked():
    c = stage2("objective.motion_scale=10")
    task = TASKS[c.task](c)
    assert task.motion_ids(torch.tensor([0.0, 2.34, 7.0, 99.0])).tolist() == [0.0, 23.0, 70.0, 255.0]


def test_stage2_from_a_stage1_run_without_final(tmp_path):
    s1 = load_config(TrainConfig, "configs/train/stage1_image.yaml", [
        f"out={tmp_path / 's1'}", "steps=3", "ckpt_every=1", "batch_size=1", "data.size=2", "data.height=32",
        "data.width=32"])
    train(s1, progress=False, stop_after=1)  # interrupted: a checkpoint, no final/
    assert not (tmp_path / "s1" / "final").exists()
    from safetensors.torch import load_file

    image = load_file(str(tmp_path / "s1" / "checkpoints" / "step_0000001" / "model.safetensors"))
    task = TASKS["svd_i2v"](stage2(f"init_from={tmp_path / 's1'}"))
    video = task.model.state_dict()
    assert torch.equal(video["conv_in.weight"][:, :4], image["conv_in.weight"])
    assert torch.equal(video["conv_in.weight"][:, 4:], torch.zeros_like(video["conv_in.weight"][:, 4:]))
    assert torch.equal(video["down_blocks.0.resnets.0.spatial_res_block.conv1.weight"],
                       image["down_blocks.0.resnets.0.conv1.weight"])


def test_weights_of_another_model_are_one_line(tmp_path):
    from safetensors.torch import save_file

    save_file({"blocks.0.weight": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError, match=r"^init_from=.*other.safetensors': its weights do not fit the svd_i2v"):
        TASKS["svd_i2v"](stage2(f"init_from={tmp_path / 'other.safetensors'}"))
