"""A collective's tensor lives where the process group's backend moves tensors: NCCL groups
(GPU training under torchrun) take only GPU tensors, gloo only CPU ones."""

import pytest
import torch
import torch.distributed as dist

from video.training import distributed


def _group(backend: str, tmp_path) -> None:
    dist.init_process_group(backend, init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)


def test_gloo_and_no_group_use_the_cpu(tmp_path):
    assert distributed.collective_device() == torch.device("cpu")
    _group("gloo", tmp_path)
    try:
        t = torch.ones(1, dtype=torch.float64, device=distributed.collective_device())
        dist.all_reduce(t)
        assert t.item() == 1.0
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not torch.cuda.is_available() or not dist.is_nccl_available(), reason="NCCL needs a GPU")
def test_nccl_takes_a_gpu_tensor(tmp_path):
    torch.cuda.set_device(0)
    _group("nccl", tmp_path)
    try:
        device = distributed.collective_device()
        assert device.type == "cuda"
        t = torch.tensor([2.5], dtype=torch.float64, device=device)
        dist.all_reduce(t)
        assert t.item() == 2.5
    finally:
        dist.destroy_process_group()
