"""One list of repeated blocks for activation checkpointing and FSDP2 sharding, and the finer
compile units regional compilation traces (each shape once, past dynamo's default limit)."""

import pytest
import torch

from video.models.blocks import compile_units, repeated_blocks
from video.runtime.txt2vid import build_tiny


def test_blocks_of_each_network(tiny_models):
    unet, decoder = tiny_models.unet, tiny_models.vae.decoder
    assert repeated_blocks(unet) == [*unet.down_blocks, unet.mid_block, *unet.up_blocks]
    assert repeated_blocks(decoder) == [decoder.mid_block, *decoder.up_blocks]  # no down blocks
    dit = build_tiny().transformer
    assert repeated_blocks(dit) == list(dit.blocks)
    with pytest.raises(ValueError, match="no repeated blocks"):
        repeated_blocks(torch.nn.Linear(2, 2))


def test_compile_units_split_every_block(tiny_models):
    """Each parameter of a UNet/decoder block lives in exactly one compile unit; a transformer's
    units are its blocks."""
    for net in (tiny_models.unet, tiny_models.vae.decoder):
        units = compile_units(net)
        assert len(units) > len(repeated_blocks(net))
        owned = [id(p) for u in units for p in u.parameters()]
        assert len(owned) == len(set(owned))
        assert set(owned) == {id(p) for b in repeated_blocks(net) for p in b.parameters()}
    dit = build_tiny().transformer
    assert compile_units(dit) == list(dit.blocks)


class _Block(torch.nn.Module):
    def __init__(self, n: int):
        super().__init__()
        self.lin = torch.nn.Linear(n, n)

    def forward(self, x):
        return torch.relu(self.lin(x))


class _Stack(torch.nn.Module):
    """Twelve blocks of one class at twelve shapes: more than dynamo's default 8 per code object."""

    def __init__(self):
        super().__init__()
        self.blocks = torch.nn.ModuleList(_Block(i + 1) for i in range(12))

    def forward(self, xs):
        return [torch.relu(b(x)) for b, x in zip(self.blocks, xs, strict=True)]


def test_every_shape_is_traced_past_the_default_recompile_limit():
    from torch._dynamo.utils import counters

    from video.runtime.speed import compile_blocks

    torch._dynamo.reset()
    counters.clear()
    model = _Stack()
    with torch._dynamo.config.patch(recompile_limit=8):
        assert compile_blocks([model], backend="eager") == 12
        with torch.no_grad():
            model([torch.randn(2, i + 1) for i in range(12)])
        assert counters["stats"]["unique_graphs"] == 12  # the default limit would run 4 of them eagerly
    torch._dynamo.reset()


def test_traced_units_keep_the_tiny_pipeline_exact(tiny_models, photo):
    from video.runtime.img2vid import ImageToVideo
    from video.runtime.speed import compile_blocks

    pipe = ImageToVideo(tiny_models)
    kw = dict(num_frames=3, num_inference_steps=2, height=64, width=96, decode_chunk_size=2)
    eager = pipe(photo, generator=torch.Generator().manual_seed(0), **kw)
    torch._dynamo.reset()
    try:
        n = compile_blocks([tiny_models.unet, tiny_models.vae.decoder], backend="eager")
        assert n == len(compile_units(tiny_models.unet)) + len(compile_units(tiny_models.vae.decoder))
        traced = pipe(photo, generator=torch.Generator().manual_seed(0), **kw)
    finally:
        torch._dynamo.reset()
        for u in [*tiny_models.unet.modules(), *tiny_models.vae.modules()]:
            u._compiled_call_impl = None
    assert (traced == eager).all()
