"""One training step, side by side: our step (bf16 autocast, fused AdamW: the step ``video train``
takes on a GPU with ``precision=bf16``) and the plain way (the same diffusers / DiT model in
fp32 with torch's default AdamW), for an SVD-XT-size UNet and a DiT, same inputs, same run.

    python bench/train.py                 # GPU: SVD-XT UNet at 14x320x576 and dit_l at 33x480x832
    python bench/train.py --size tiny     # CPU smoke run

Prints seconds per step, samples/s, tokens/s, TFLOP/s and MFU (FLOPs of fwd+bwd counted by
torch's FlopCounterMode on the first step), writes JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from video.atomic import atomic_file  # noqa: E402
from video.config import CONFIG_DIR, load_config, load_model_config  # noqa: E402
from video.models.dit import DiT, DiTConfig  # noqa: E402
from video.models.svd import build_unet  # noqa: E402


def step_fn(model, make_inputs, loss_of, precision: str, fused: bool, device):
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5,
                            fused=fused if device.type == "cuda" else None)
    ac = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")

    def step():
        opt.zero_grad(set_to_none=True)
        with ac:
            loss = loss_of(model, *make_inputs())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    return step


def time_steps(step, device, warmup=2, reps=4):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(reps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def count_flops(step) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as fc:
        step()
    return fc.get_total_flops()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default=None, choices=["full", "tiny"])
    ap.add_argument("--peak-tflops", type=float, default=790.0)
    ap.add_argument("--json", default="bench/results/train.json")
    args = ap.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    full = (args.size or ("full" if device.type == "cuda" else "tiny")) == "full"
    g = torch.Generator(device=device).manual_seed(0)
    rows = []

    # SVD UNet (image-to-video, EDM-style v-target loss)
    mcfg = load_model_config("svd_xt" if full else "tiny")
    f, h, w = (14, 40, 72) if full else (4, 8, 12)
    d = mcfg.unet.cross_attention_dim

    def svd_inputs():
        x = torch.randn(1, f, 8, h, w, generator=g, device=device)
        return x, torch.randn(1, generator=g, device=device), torch.randn(1, 1, d, generator=g, device=device), \
            torch.tensor([[6.0, 127.0, 0.02]], device=device), torch.randn(1, f, 4, h, w, generator=g, device=device)

    def svd_loss(m, x, t, emb, ids, target):
        return ((m(x, t, emb, ids).sample.float() - target) ** 2).mean()

    # DiT (rectified flow)
    dcfg = load_config(DiTConfig, CONFIG_DIR / "model" / ("dit_l.yaml" if full else "dit_tiny.yaml"))
    lat = (1, dcfg.in_channels, 9, 60, 104) if full else (1, dcfg.in_channels, 3, 8, 8)
    text_len = 512 if full else 8

    def dit_inputs():
        return (torch.randn(lat, generator=g, device=device), torch.rand(1, generator=g, device=device),
                torch.randn(1, text_len, dcfg.text_dim, generator=g, device=device),
                torch.randn(lat, generator=g, device=device))

    def dit_loss(m, x, t, ctx, target):
        return ((m(x, t, ctx).float() - target) ** 2).mean()

    for name, build, inputs, loss_of, tokens in [
        ("svd_xt unet" if full else "tiny svd unet", lambda: build_unet(mcfg), svd_inputs, svd_loss, f * h * w),
        ("dit_l" if full else "dit_tiny", lambda: DiT(dcfg), dit_inputs, dit_loss, None),
    ]:
        flops = None
        for variant, precision, fused in [("plain (fp32, default AdamW)", "fp32", False),
                                          ("ours (bf16 autocast, fused AdamW)", "bf16", True)]:
            torch.manual_seed(0)
            with torch.device(device):
                model = build().to(device).train()  # some diffusers tensors ignore the default device
            step = step_fn(model, inputs, loss_of, precision, fused, device)
            if flops is None:
                flops = count_flops(step)
            sec = time_steps(step, device)
            ntok = tokens or (lat[2] * lat[3] * lat[4] // 4)
            rows.append({"model": name, "variant": variant, "seconds_per_step": sec, "samples_per_s": 1 / sec,
                         "tokens_per_s": ntok / sec, "tflop_per_step": flops / 1e12,
                         "tflops_per_s": flops / sec / 1e12, "mfu": flops / sec / 1e12 / args.peak_tflops})
            del model, step
            if device.type == "cuda":
                torch.cuda.empty_cache()
            out = Path(args.json)  # after every row, so a run cut short keeps what it measured
            out.parent.mkdir(parents=True, exist_ok=True)
            with atomic_file(out) as tmp:  # a kill while writing keeps the previous rows whole
                tmp.write_text(json.dumps({"rows": rows}, indent=2))
            print(json.dumps(rows[-1]), flush=True)
    result = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "torch": torch.__version__,
              "rows": rows}
    print(f"\n{result['device']}")
    print(f"{'model':16s} {'variant':36s} {'s/step':>8s} {'tok/s':>10s} {'TFLOP/s':>8s} {'MFU':>6s}")
    for r in rows:
        print(f"{r['model']:16s} {r['variant']:36s} {r['seconds_per_step']:8.3f} {r['tokens_per_s']:10.0f} "
              f"{r['tflops_per_s']:8.1f} {100 * r['mfu']:5.1f}%")
    for name in dict.fromkeys(r["model"] for r in rows):
        a, b = [r for r in rows if r["model"] == name]
        print(f"{name}: ours {a['seconds_per_step'] / b['seconds_per_step']:.2f}x the plain step's speed")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(out) as tmp:
        tmp.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
