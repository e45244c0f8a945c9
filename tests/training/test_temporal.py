"""Stage 1 -> 2: the video UNet made from an image UNet starts as the image model."""

import torch

from video.config import load_model_config
from video.models.svd import build_unet
from video.training.temporal import build_image_unet, insert_temporal_layers


def test_video_unet_starts_as_the_image_model():
    cfg = load_model_config("tiny")
    torch.manual_seed(0)
    image = build_image_unet(cfg).eval()
    with torch.no_grad():  # a trained image model: no zero weights anywhere
        for p in image.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    video = insert_temporal_layers(image, build_unet(cfg).eval())
    f = 4
    x = torch.randn(2, f, 4, 16, 24)
    cond_latent = torch.randn(2, f, 4, 16, 24)  # ignored at the start
    emb = torch.randn(2, 1, cfg.unet.cross_attention_dim)
    t = torch.tensor([0.3, -0.5])
    ids = torch.tensor([[6.0, 127.0, 0.02], [3.0, 30.0, 0.1]])
    with torch.no_grad():
        out_v = video(torch.cat([x, cond_latent], 2), t, emb, ids).sample
        for b in range(2):
            out_i = image(x[b], t[b].expand(f), emb[b : b + 1].expand(f, -1, -1)).sample
            assert torch.allclose(out_v[b], out_i, atol=1e-5), (out_v[b] - out_i).abs().max()
        # ...and once the temporal layers have weights, frames influence each other.
        for blk in video.down_blocks[0].resnets:
            blk.temporal_res_block.conv2.weight.normal_(0, 0.1)
        out_t = video(torch.cat([x, cond_latent], 2), t, emb, ids).sample
    assert not torch.allclose(out_t, out_v, atol=1e-3)
