"""Step caching of the First-Block-Cache kind for the SVD UNet (the opt-in, inexact fast mode).

Neighbouring sampling steps change the UNet's deep features little. First Block Cache
(ParaAttention's FBCache, Comfy-WaveSpeed's UNet variant, diffusers' ``FirstBlockCacheConfig``)
runs only the first block each step and measures how much that block's residual moved since the
last fully computed step: relative L1, ``mean|r - r_prev| / mean|r_prev|``. Below a threshold the
rest of the network is skipped and its cached residual is added instead; otherwise the rest runs
and both residuals are stored. The reference point moves only on full steps, so a slow drift
still trips the threshold after a few skips.

For the SVD UNet (``UNetSpatioTemporalConditionModel``) we take:
- first block: ``down_blocks[0]`` after ``conv_in``. Its residual is its last full-resolution
  state minus its input (both ``c0`` channels at the latent size; the downsampled output has
  another shape);
- rest: the other down blocks, the mid block and all up blocks, a map from that full-resolution
  state to the last up block's output, which has the same shape. Its residual
  ``up_out - state`` is what we cache; ``conv_norm_out``/``conv_act``/``conv_out`` always run.
The classifier-free-guidance pair runs as one batch of two, so the relative change is measured
over the batch and the pair is skipped or computed together (a joint decision).

``threshold = 0`` never skips; the forward below then performs exactly diffusers' operations
(``tests/runtime/test_step_cache.py`` checks bit-identity).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class FirstBlockCache:
    """Per-video state: reset before each video (``reset``)."""

    threshold: float
    first_residual: torch.Tensor | None = None
    rest_residual: torch.Tensor | None = None
    computed: int = 0
    skipped: int = 0
    changes: list[float] = field(default_factory=list)  # relative change seen at each evaluation

    def reset(self) -> None:
        self.first_residual = self.rest_residual = None
        self.computed = self.skipped = 0
        self.changes = []

    def reusable(self, first_residual: torch.Tensor) -> bool:
        """Whether the rest of the network may be skipped this evaluation (one host sync)."""
        prev = self.first_residual
        if prev is None or self.rest_residual is None or prev.shape != first_residual.shape:
            return False
        change = ((first_residual - prev).abs().mean() / prev.abs().mean().clamp_min(1e-12)).item()
        self.changes.append(change)
        return change < self.threshold


def _full_res_state(block: torch.nn.Module, res_samples: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The last state of a down block before its downsampler (its output when it has none)."""
    return res_samples[-2] if getattr(block, "downsamplers", None) else res_samples[-1]


def _call_block(block, sample, emb, encoder_hidden_states, image_only_indicator, **kw):
    if getattr(block, "has_cross_attention", False):
        return block(hidden_states=sample, temb=emb, encoder_hidden_states=encoder_hidden_states,
                     image_only_indicator=image_only_indicator, **kw)
    return block(hidden_states=sample, temb=emb, image_only_indicator=image_only_indicator, **kw)


def cached_unet_forward(unet, cache: FirstBlockCache, sample: torch.Tensor, timestep: torch.Tensor,
                        encoder_hidden_states: torch.Tensor, added_time_ids: torch.Tensor) -> torch.Tensor:
    """``unet(sample, timestep, encoder_hidden_states, added_time_ids)[0]`` with First Block Cache.

    The same operations, in the same order, as diffusers' ``UNetSpatioTemporalConditionModel.forward``
    (0.42) when nothing is skipped; the blocks are called as modules, so regionally compiled
    blocks stay compiled.
    """
    up_factor = 2**unet.num_upsamplers
    forward_upsample_size = any(s % up_factor != 0 for s in sample.shape[-2:])
    upsample_size = None
    # 1. time and micro-conditioning embeddings
    timesteps = timestep
    if not torch.is_tensor(timesteps):
        timesteps = torch.tensor([timesteps], dtype=torch.float32, device=sample.device)
    elif len(timesteps.shape) == 0:
        timesteps = timesteps[None].to(sample.device)
    batch_size, num_frames = sample.shape[:2]
    timesteps = timesteps.expand(batch_size)
    emb = unet.time_embedding(unet.time_proj(timesteps).to(dtype=sample.dtype))
    time_embeds = unet.add_time_proj(added_time_ids.flatten()).reshape((batch_size, -1)).to(emb.dtype)
    emb = emb + unet.add_embedding(time_embeds)
    sample = sample.flatten(0, 1)
    emb = emb.repeat_interleave(num_frames, dim=0, output_size=emb.shape[0] * num_frames)
    encoder_hidden_states = encoder_hidden_states.repeat_interleave(
        num_frames, dim=0, output_size=encoder_hidden_states.shape[0] * num_frames)
    # 2. conv_in and the first block
    sample = unet.conv_in(sample)
    image_only_indicator = torch.zeros(batch_size, num_frames, dtype=sample.dtype, device=sample.device)
    block0 = unet.down_blocks[0]
    first_in = sample
    sample, res_samples = _call_block(block0, sample, emb, encoder_hidden_states, image_only_indicator)
    state = _full_res_state(block0, res_samples)
    first_residual = state - first_in
    if cache.threshold > 0 and cache.reusable(first_residual):
        cache.skipped += 1
        up_out = state + cache.rest_residual
    else:
        # 3. the rest: down, mid, up (diffusers' order and skip bookkeeping)
        down_block_res_samples = (first_in,) + res_samples
        for block in unet.down_blocks[1:]:
            sample, res = _call_block(block, sample, emb, encoder_hidden_states, image_only_indicator)
            down_block_res_samples += res
        sample = unet.mid_block(hidden_states=sample, temb=emb, encoder_hidden_states=encoder_hidden_states,
                                image_only_indicator=image_only_indicator)
        for i, block in enumerate(unet.up_blocks):
            is_final_block = i == len(unet.up_blocks) - 1
            res = down_block_res_samples[-len(block.resnets):]
            down_block_res_samples = down_block_res_samples[: -len(block.resnets)]
            if not is_final_block and forward_upsample_size:
                upsample_size = down_block_res_samples[-1].shape[2:]
            sample = _call_block(block, sample, emb, encoder_hidden_states, image_only_indicator,
                                 res_hidden_states_tuple=res, upsample_size=upsample_size)
        up_out = sample
        if cache.threshold > 0:
            cache.first_residual = first_residual
            cache.rest_residual = up_out - state
        cache.computed += 1
    # 4. post-process
    out = unet.conv_out(unet.conv_act(unet.conv_norm_out(up_out)))
    return out.reshape(batch_size, num_frames, *out.shape[1:])
