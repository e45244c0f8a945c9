"""What a single-file SVD checkpoint holds beside the keys we read: unknown UNet keys are an
error (not dropped), ComfyUI's scaled fp8 weights are multiplied back by their scales, sgm's
EMA copy is named and not used, a VAE-only file is named as such; and an fp16 file read as
fp16 is never widened to float32 on the way."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from live_bytes import LiveBytes
from safetensors.torch import save_file

from video.config import to_dict
from video.models.sgm import CONFIG_METADATA_KEY, UNET, to_sgm_state_dict
from video.models.svd import CheckpointError, load_svd

SCALED_FP8_MARKER = UNET + "scaled_fp8"  # ComfyUI (comfy/model_detection.py) marks its scaled fp8 files so




def test_unknown_unet_keys_are_refused(sd, meta, tmp_path):
    extra = {**sd, UNET + "input_blocks.99.0.in_layers.0.weight": torch.ones(4)}
    save_file(extra, str(tmp_path / "extra.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match=r"1 UNet keys this loader has no place for \(e\.g\. "
                                              r"model\.diffusion_model\.input_blocks\.99\.0\.in_layers\.0\.weight\)"):
        load_svd(tmp_path / "extra.safetensors")


def _scaled_fp8(sd: dict) -> tuple[dict, dict]:
    """ComfyUI's layout: each UNet matrix/conv weight W stored as fp8(W / s) with ``scale_weight``
    s (a power of two per layer), the ``scaled_fp8`` marker, and ``scale_input`` beside; returns
    the file and, per scaled key, the closed-form weight fp8(W / s) * s."""
    out, expect = dict(sd), {}
    for i, (k, w) in enumerate(sorted(sd.items())):
        if k.startswith(UNET) and k.endswith(".weight") and w.ndim >= 2:
            s = torch.tensor(2.0 ** (i % 4 + 1))
            q = (w / s).to(torch.float8_e4m3fn)
            out[k] = q
            out[k[: -len("weight")] + "scale_weight"] = s
            out[k[: -len("weight")] + "scale_input"] = torch.tensor(1.0)
            expect[k] = q.float() * s
    out[SCALED_FP8_MARKER] = torch.empty(0, dtype=torch.float8_e4m3fn)
    return out, expect


def test_scaled_fp8_weights_are_multiplied_by_their_scales(sd, meta, tmp_path):
    from video.models.sgm import _key_maps

    scaled, expect = _scaled_fp8(sd)
    assert len(expect) > 50
    save_file(scaled, str(tmp_path / "scaled.safetensors"), metadata=meta)
    for dtype in (torch.float32, torch.float16):
        m = load_svd(tmp_path / "scaled.safetensors", dtype=dtype)
        got = m.unet.state_dict()
        for k, (fk, _) in _key_maps((m.unet, m.vae, m.image_encoder))["unet"].items():
            ref = expect.get(fk, sd[fk])
            assert torch.equal(got[k], ref.to(dtype)), (k, dtype)
    # the scales without ComfyUI's marker are not that layout: refused, not dropped
    del scaled[SCALED_FP8_MARKER]
    save_file(scaled, str(tmp_path / "unmarked.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match="UNet keys this loader has no place for"):
        load_svd(tmp_path / "unmarked.safetensors")


def test_ema_weights_are_named_and_not_used(sd, meta, tmp_path, tiny_models):
    ema = {**sd, **{"model_ema." + k[len(UNET):].replace(".", ""): torch.ones_like(v)
                    for k, v in sd.items() if k.startswith(UNET)}}
    save_file(ema, str(tmp_path / "ema.safetensors"), metadata=meta)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = load_svd(tmp_path / "ema.safetensors")
    notes = [str(w.message) for w in caught if "EMA" in str(w.message)]
    assert len(notes) == 1 and "not used" in notes[0]
    ref = tiny_models.unet.state_dict()
    assert all(torch.equal(v, ref[k]) for k, v in m.unet.state_dict().items())


def test_vae_only_file_is_named(tiny_models, tmp_path):
    save_file({k: v.contiguous() for k, v in tiny_models.vae.state_dict().items()}, str(tmp_path / "vae.safetensors"))
    with pytest.raises(CheckpointError, match=r"is a VAE-only file .*--model needs a full SVD checkpoint") as e:
        load_svd(tmp_path / "vae.safetensors")
    assert "\n" not in str(e.value)


def test_fp16_file_read_as_fp16_makes_no_float32_copies(tiny_models, tmp_path):
    sd16 = {k: v.half() for k, v in to_sgm_state_dict(tiny_models).items()}
    meta = {CONFIG_METADATA_KEY: json.dumps(to_dict(tiny_models.config))}
    save_file(sd16, str(tmp_path / "fp16.safetensors"), metadata=meta)
    weights = sum(v.numel() * 2 for v in sd16.values())
    largest = max(v.numel() * 4 for v in sd16.values())
    with LiveBytes(torch.float32) as live:
        m = load_svd(tmp_path / "fp16.safetensors", dtype=torch.float16)
    assert all(p.dtype == torch.float16 for net in (m.unet, m.vae, m.image_encoder) for p in net.parameters())
    # before: every tensor went through float32 (2x the file, all alive) and was then cast back
    assert live.peak <= 2 * largest < 0.2 * weights, (live.peak, largest, weights)
    ref = tiny_models.unet.state_dict()
    assert all(torch.equal(v, ref[k].half()) for k, v in m.unet.state_dict().items())
