"""One list of repeated blocks for compile, activation checkpointing and FSDP2 sharding."""

import pytest
import torch

from video.models.blocks import repeated_blocks
from video.runtime.txt2vid import build_tiny


def test_blocks_of_each_network(tiny_models):
    unet, decoder = tiny_models.unet, tiny_models.vae.decoder
    assert repeated_blocks(unet) == [*unet.down_blocks, unet.mid_block, *unet.up_blocks]
    assert repeated_blocks(decoder) == [decoder.mid_block, *decoder.up_blocks]  # no down blocks
    dit = build_tiny().transformer
    assert repeated_blocks(dit) == list(dit.blocks)
    with pytest.raises(ValueError, match="no repeated blocks"):
        repeated_blocks(torch.nn.Linear(2, 2))
