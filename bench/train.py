"""One training step, side by side: our step (bf16 autocast, fused AdamW: the step ``video train``
takes on a GPU with ``precision=bf16``) and the plain way (the same diffusers / DiT model in
fp32 with torch's default AdamW), for an SVD-XT-size UNet and a DiT, same weights, same inputs
(each variant draws them from a generator seeded alike), same run.

    python bench/train.py                 # GPU: SVD-XT UNet at 14x320x576 and dit_l at 33x480x832
    python bench/train.py --size tiny     # CPU smoke run

Prints seconds per step, samples/s, tokens/s, TFLOP/s and MFU, writes JSON. FLOPs are the
model's: 3 x one forward's (the backward's two matmuls per forward one), the DiT's from
``DiT.flops_per_forward``, the UNet's counted on the meta device with attention as explicit
matmuls. Torch's FlopCounterMode on the real step counted what the kernels happened to do: on
a GPU the fused attention backward's recomputed QK^T (5 matmuls for the model's 4: dit_l 237.6
TFLOP a step against 218.8), on a CPU nothing of the attention kernel. MFU needs a peak: on a
GPU ``--peak-tflops`` (790, the dense bf16 matmul rate measured on the lent H100/H200); a CPU
has none here, so its MFU is null ("n/a") unless one is given.

Both variants' first-step losses (same weights and inputs, before any update) must agree within
bf16's tolerance: where they do not, the two steps compute different things and the run exits 1.
"""

from __future__ import annotations

import argparse
import json
import math
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

GPU_PEAK_TFLOPS = 790.0
# plain (fp32) against ours (bf16 autocast) at the same weights and inputs, relative: bf16 keeps 8
# bits (2^-8 per rounding) and the loss averages its errors over every output; the tiny models on
# a CPU agree to 4e-4, where one generator shared by both variants moved the loss 4-7%
FIRST_LOSS_RTOL = 1e-2
PLAIN, OURS = "plain", "ours"


def adamw_kind(opt: torch.optim.AdamW) -> str:
    """The AdamW implementation that steps: ``fused``, ``foreach`` or ``for-loop``. With neither
    flag set torch picks foreach for CUDA parameters and the for-loop elsewhere, so a CPU's
    "ours" row did not run a fused AdamW."""
    if opt.defaults.get("fused"):
        return "fused"
    foreach = opt.defaults.get("foreach")
    if foreach is None:
        try:
            from torch.optim.optimizer import _default_to_fused_or_foreach
        except ImportError:  # torch's own rule moved: say only that it chose
            return "default"
        params = [p for g in opt.param_groups for p in g["params"]]
        foreach = _default_to_fused_or_foreach(params, differentiable=False, use_fused=False)[1]
    return "foreach" if foreach else "for-loop"


def step_fn(model, make_inputs, loss_of, precision: str, fused: bool, device) -> tuple:
    """(one training step returning its loss, the AdamW implementation it runs)."""
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

    return step, adamw_kind(opt)


def time_steps(step, device, warmup=2, reps=4) -> tuple[float, float]:
    """(median seconds per step, the first step's loss: before any update)."""
    first = float(step().detach().float())
    for _ in range(warmup - 1):
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
    return statistics.median(times), first


def unet_step_flops(mcfg, frames: int, h: int, w: int) -> int:
    """Model FLOPs of one UNet training step at batch 1: 3 x one forward's, the forward counted
    by FlopCounterMode on the meta device (no weights, no memory: SVD-XT's 1.5B parameters
    cost nothing) with attention as explicit matmuls, since the counter sees the fused kernels'
    own work (or, on a CPU, none of it) rather than the model's."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        unet = build_unet(mcfg).to("meta")  # some diffusers tensors ignore the default device
        x = torch.zeros(1, frames, mcfg.unet.in_channels, h, w)
        t, emb = torch.zeros(1), torch.zeros(1, 1, mcfg.unet.cross_attention_dim)
        ids = torch.zeros(1, 3)
    with torch.no_grad(), sdpa_kernel([SDPBackend.MATH]), FlopCounterMode(display=False) as fc:
        unet(x, t, emb, ids)
    return 3 * fc.get_total_flops()


def dit_step_flops(dcfg: DiTConfig, latent: tuple[int, ...], text_len: int) -> tuple[int, int]:
    """(model FLOPs of one DiT training step: 3 x ``DiT.flops_per_forward`` at the step's shapes,
    its tokens)."""
    with torch.device("meta"):
        model = DiT(dcfg)
    return 3 * model.flops_per_forward(latent, text_len), math.prod(model.token_grid(latent))


def randomise_zero_weights(model: torch.nn.Module, seed: int = 1) -> torch.nn.Module:
    """Random values for the weight matrices and tables built as zeros (the DiT's adaLN-Zero
    gates, its time projection, cross-attention output and head): at build the DiT outputs 0,
    so its first-step loss would read the target alone and the check of the two variants would
    not see the model. Dense kernels cost the same on any values, so the timing is unchanged."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim > 1 and not p.any():
                p.copy_(torch.randn(p.shape, generator=g) / p[0].numel() ** 0.5)
    return model


def losses_agree(plain: float, ours: float) -> dict:
    """The first-step check: plain's and ours' loss at the same weights and inputs."""
    rel = abs(ours - plain) / max(abs(plain), 1e-12)
    return {"plain_first_loss": plain, "ours_first_loss": ours, "rel_diff": rel, "rtol": FIRST_LOSS_RTOL,
            "agree": math.isfinite(rel) and rel <= FIRST_LOSS_RTOL}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default=None, choices=["full", "tiny"], help="full on a GPU (default), tiny on a CPU")
    ap.add_argument("--peak-tflops", type=float, default=None,
                    help=f"the card's dense bf16 matmul rate for MFU (GPU default {GPU_PEAK_TFLOPS:g}; none on a CPU)")
    ap.add_argument("--json", default="bench/results/train.json")
    args = ap.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    size = args.size or ("full" if device.type == "cuda" else "tiny")
    full = size == "full"
    peak = args.peak_tflops if args.peak_tflops is not None else (GPU_PEAK_TFLOPS if device.type == "cuda" else None)
    g = torch.Generator(device=device)
    rows, checks = [], []

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

    svd_name, dit_name = ("svd_xt unet", "dit_l") if full else ("tiny svd unet", "dit_tiny")
    result = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "torch": torch.__version__,
        "size": size, "batch": 1, "peak_tflops": peak,
        "flops": "model FLOPs per step: 3 x one forward's (DiT.flops_per_forward; the UNet counted on the meta "
                 "device with attention as explicit matmuls)",
        "shapes": {svd_name: {"latent": [1, f, 8, h, w], "target": [1, f, 4, h, w], "context_tokens": 1,
                              "config": "svd_xt" if full else "tiny"},
                   dit_name: {"latent": list(lat), "target": list(lat), "text_len": text_len, "config": dit_name}},
        "rows": rows, "first_loss_checks": checks}
    if peak is None:
        result["mfu_note"] = "no MFU: a CPU has no peak here (give --peak-tflops for one)"

    def write() -> None:
        out = Path(args.json)  # after every row, so a run cut short keeps what it measured
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(out) as tmp:  # a kill while writing keeps the previous rows whole
            tmp.write_text(json.dumps(result, indent=2))

    for name, build, inputs, loss_of, count in [
        (svd_name, lambda: build_unet(mcfg), svd_inputs, svd_loss, lambda: (unet_step_flops(mcfg, f, h, w), f * h * w)),
        (dit_name, lambda: DiT(dcfg), dit_inputs, dit_loss, lambda: dit_step_flops(dcfg, lat, text_len)),
    ]:
        flops, tokens = count()
        result["shapes"][name]["tokens"] = tokens
        first = {}
        for variant, precision, fused in [(PLAIN, "fp32", False), (OURS, "bf16", True)]:
            torch.manual_seed(0)  # the same weights for both variants
            g.manual_seed(0)  # and the same inputs, step for step
            with torch.device(device):
                model = build().to(device).train()  # some diffusers tensors ignore the default device
            randomise_zero_weights(model)
            step, kind = step_fn(model, inputs, loss_of, precision, fused, device)
            sec, first[variant] = time_steps(step, device)
            label = "plain (fp32, default AdamW)" if variant == PLAIN else f"ours (bf16 autocast, {kind} AdamW)"
            tflops = flops / sec / 1e12
            rows.append({"model": name, "variant": label, "adamw": kind, "seconds_per_step": sec,
                         "samples_per_s": 1 / sec, "tokens_per_s": tokens / sec, "tflop_per_step": flops / 1e12,
                         "tflops_per_s": tflops, "mfu": tflops / peak if peak else None,
                         "first_loss": first[variant]})
            del model, step
            if device.type == "cuda":
                torch.cuda.empty_cache()
            write()
            print(json.dumps(rows[-1]), flush=True)
        checks.append({"model": name, **losses_agree(first[PLAIN], first[OURS])})
        write()

    print(f"\n{result['device']} | {size} | batch 1 | model FLOPs (3 x forward) | "
          + (f"MFU against {peak:g} TFLOP/s" if peak else "MFU n/a (no CPU peak)"))
    print(f"{'model':16s} {'variant':36s} {'s/step':>8s} {'tok/s':>10s} {'TFLOP/s':>8s} {'MFU':>6s}")
    for r in rows:
        mfu = f"{100 * r['mfu']:5.1f}%" if r["mfu"] is not None else f"{'n/a':>6s}"
        print(f"{r['model']:16s} {r['variant']:36s} {r['seconds_per_step']:8.3f} {r['tokens_per_s']:10.0f} "
              f"{r['tflops_per_s']:8.3g} {mfu}")
    for name in dict.fromkeys(r["model"] for r in rows):
        a, b = [r for r in rows if r["model"] == name]
        print(f"{name}: ours {a['seconds_per_step'] / b['seconds_per_step']:.2f}x the plain step's speed")
    bad = [c for c in checks if not c["agree"]]
    for c in checks:
        print(f"{c['model']}: first-step loss plain {c['plain_first_loss']:.6g}, ours {c['ours_first_loss']:.6g} "
              f"(relative difference {c['rel_diff']:.2e}, tolerance {c['rtol']:g})")
    print(f"wrote {args.json}")
    for c in bad:
        print(f"bench/train.py: {c['model']}: the two variants' first-step losses differ by {c['rel_diff']:.2e} "
              f"(> {c['rtol']:g}) at the same weights and inputs: they do not compute the same step", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
