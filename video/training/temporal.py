"""Stage 1 -> 2 of the SVD recipe: turn an image UNet into a video UNet whose temporal layers
start switched off, so the new model's first output is the image model's, frame by frame.

The spatial weights are copied (``resnets.j.*`` become ``resnets.j.spatial_res_block.*``);
every temporal branch gets a zero output projection (temporal res-block ``conv2``, temporal
transformer ``ff_in``/``attn1``/``attn2``/``ff`` outputs, ``time_pos_embed``'s last layer), so
each temporal path returns its input and the mixers blend two identical tensors; the extra
input channels (the conditioning latent) and the micro-conditioning embedding start at zero.
"""

from __future__ import annotations

import re

import torch


def image_unet_config(svd_unet_config) -> dict:
    """UNet2DConditionModel arguments matching the spatial part of an SVD UNet config."""
    c = svd_unet_config
    n = len(c.block_out_channels)
    return dict(
        sample_size=c.sample_size, in_channels=c.out_channels, out_channels=c.out_channels,
        down_block_types=("CrossAttnDownBlock2D",) * (n - 1) + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (n - 1),
        block_out_channels=tuple(c.block_out_channels), layers_per_block=c.layers_per_block,
        cross_attention_dim=c.cross_attention_dim, attention_head_dim=tuple(c.num_attention_heads),
        transformer_layers_per_block=c.transformer_layers_per_block, use_linear_projection=True,
        flip_sin_to_cos=True, freq_shift=0, norm_eps=1e-5,
    )


def build_image_unet(model_config) -> torch.nn.Module:
    """The image model of stage 1: a ``UNet2DConditionModel`` with the SVD UNet's spatial
    layers, normalisation epsilons included (SVD uses 1e-6 in its cross-attention blocks and
    1e-5 elsewhere; diffusers' image UNet has one ``norm_eps``), so weights move across exactly."""
    from diffusers import UNet2DConditionModel

    from video.models.svd import build_unet

    image = UNet2DConditionModel(**image_unet_config(model_config.unet))
    with torch.device("meta"):
        video = dict(build_unet(model_config).named_modules())
    for name, mod in image.named_modules():
        if isinstance(mod, (torch.nn.GroupNorm, torch.nn.LayerNorm)):
            mod.eps = video[video_key(name + ".").rstrip(".")].eps
    return image


def video_key(k: str) -> str:
    """An image-UNet key -> the video UNet key of the same weight."""
    return re.sub(r"((?:down_blocks\.\d+|up_blocks\.\d+|mid_block)\.resnets\.\d+)\.", r"\1.spatial_res_block.", k)


ZERO_SUFFIXES = ("temporal_res_block.conv2.weight", "temporal_res_block.conv2.bias", "time_pos_embed.linear_2.weight",
                 "time_pos_embed.linear_2.bias", "ff_in.net.2.weight", "ff_in.net.2.bias", "ff.net.2.weight",
                 "ff.net.2.bias", "attn1.to_out.0.weight", "attn1.to_out.0.bias", "attn2.to_out.0.weight",
                 "attn2.to_out.0.bias", "add_embedding.linear_2.weight", "add_embedding.linear_2.bias")


@torch.no_grad()
def insert_temporal_layers(image_unet: torch.nn.Module, video_unet: torch.nn.Module) -> torch.nn.Module:
    """Load ``image_unet``'s weights into ``video_unet`` and switch its temporal paths off."""
    vsd = video_unet.state_dict()
    missing = []
    for k, v in image_unet.state_dict().items():
        vk = video_key(k)
        if vk not in vsd:
            missing.append(vk)
            continue
        if k == "conv_in.weight":  # image latent channels first; the conditioning latent's start at 0
            vsd[vk].zero_()
            vsd[vk][:, : v.shape[1]] = v
        else:
            vsd[vk].copy_(v)
    if missing:
        raise ValueError(f"image UNet does not fit the video UNet: {len(missing)} keys, e.g. {missing[0]}")
    for k, v in vsd.items():
        if "temporal_transformer_blocks" in k or "temporal_res_block" in k or "time_pos_embed" in k or \
                k.startswith("add_embedding"):
            if k.endswith(ZERO_SUFFIXES):
                v.zero_()
    video_unet.load_state_dict(vsd)
    return video_unet
