"""Activation checkpointing changes memory, not maths: the same loss and the same gradients,
on the tiny DiT, the stage-1 image UNet and the spatio-temporal SVD UNet."""

import pytest
import torch

from video.config import load_config
from video.training.checkpointing import apply_activation_checkpointing, repeated_blocks
from video.training.config import TrainConfig
from video.training.loading import collate
from video.training.tasks import TASKS, make_dataset


def tiny_task(name: str):
    c = load_config(TrainConfig, f"configs/train/{name}.yaml",
                    ["init_from=", "data.frames=3", "data.height=32", "data.width=32", "data.size=2",
                     "objective.caption_dropout=0"])
    torch.manual_seed(0)
    task = TASKS[c.task](c)
    with torch.no_grad():  # leave the zero inits (adaLN-Zero, zero heads): every block gets a gradient
        g = torch.Generator().manual_seed(1)
        for p in task.model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    return task, collate([make_dataset(c)[i] for i in range(2)])


def loss_and_grads(task, batch):
    task.model.zero_grad(set_to_none=True)
    loss = task.loss(batch, torch.Generator().manual_seed(2)).mean()
    loss.backward()
    return loss.detach(), {k: p.grad.clone() for k, p in task.model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("name", ["dit_stage2_video", "stage1_image", "stage2_video"])
def test_activation_checkpointing_keeps_loss_and_gradients(name):
    task, batch = tiny_task(name)
    calls = []  # a layer inside the first block runs again in the backward once checkpointed
    inner = [m for m in repeated_blocks(task.model)[0].modules() if isinstance(m, torch.nn.Linear | torch.nn.Conv2d)][0]
    inner.register_forward_hook(lambda *_: calls.append(torch.is_grad_enabled()))
    loss, grads = loss_and_grads(task, batch)
    assert len(calls) == 1
    assert apply_activation_checkpointing(task.model) == len(repeated_blocks(task.model)) >= 2
    loss_ck, grads_ck = loss_and_grads(task, batch)
    assert len(calls) == 3  # forward (no graph kept) + recomputation in the backward
    assert torch.equal(loss, loss_ck)
    assert grads.keys() == grads_ck.keys()
    block_params = [k for k in grads if k.startswith(("blocks.", "down_blocks.", "mid_block.", "up_blocks."))]
    assert block_params and any(grads[k].abs().sum() > 0 for k in block_params)
    for k in grads:
        torch.testing.assert_close(grads_ck[k], grads[k], rtol=1e-5, atol=1e-7, msg=k)
