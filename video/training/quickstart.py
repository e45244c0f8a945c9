"""The whole staged recipe at toy scale, offline, on a CPU: image pretraining -> video
pretraining -> high-quality finetuning of a tiny DiT on the procedural moving-shapes set, each
stage starting from the previous one, with a rendered sample per stage and a loss curve."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from video.config import CONFIG_DIR, load_config


@dataclass
class Stage:
    config: str = ""
    overrides: list[str] = field(default_factory=list)


@dataclass
class QuickstartConfig:
    out: str = "runs/quickstart"
    stages: list[Stage] = field(default_factory=list)


def plot_losses(curves: dict[str, list[float]], path: Path, width: int = 640, height: int = 320) -> Path:
    """A loss curve per stage, one after the other on a log-free linear axis, drawn with PIL
    (no plotting library in the base install)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    values = [v for c in curves.values() for v in c]
    lo, hi = min(values), max(values)
    n = len(values)
    colours = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"]
    x0, x1, y0, y1 = 40, width - 10, 10, height - 30
    d.rectangle([x0, y0, x1, y1], outline="black")
    start = 0
    for i, (name, c) in enumerate(curves.items()):
        pts = [(x0 + (start + k) * (x1 - x0) / max(1, n - 1), y1 - (v - lo) * (y1 - y0) / max(hi - lo, 1e-12))
               for k, v in enumerate(c)]
        if len(pts) > 1:
            d.line(pts, fill=colours[i % len(colours)], width=2)
        d.text((x0 + start * (x1 - x0) / max(1, n - 1) + 4, y1 + 6), name, fill=colours[i % len(colours)])
        start += len(c)
    d.text((2, y0), f"{hi:.3f}", fill="black")
    d.text((2, y1 - 10), f"{lo:.3f}", fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def run_quickstart(config: str | Path | None = None, overrides: list[str] | None = None, scale: float = 1.0) -> dict:
    """Train every stage in order; ``scale`` multiplies each stage's steps (tests use a small one)."""
    from video.training.config import TrainConfig
    from video.training.trainer import train

    cfg = load_config(QuickstartConfig, config or CONFIG_DIR / "train" / "quickstart.yaml", overrides)
    out = Path(cfg.out)
    previous, curves, samples = "", {}, {}
    for stage in cfg.stages:
        name = stage.config
        tc = load_config(TrainConfig, CONFIG_DIR / "train" / f"{name}.yaml",
                         [*stage.overrides, f"out={out / name}", f"init_from={previous}"])
        tc.steps = max(1, int(tc.steps * scale))
        tc.ckpt_every = max(1, tc.steps)
        print(f"== stage {name}: {tc.steps} steps, {tc.data.frames} frames at {tc.data.height}x{tc.data.width}")
        summary = train(tc)
        curves[name], samples[name] = summary["losses"], summary.get("preview")
        previous = str(out / name)
    curve = plot_losses(curves, out / "loss.png")
    result = {"stages": list(curves), "samples": samples, "loss_curve": str(curve),
              "final_model": str(out / cfg.stages[-1].config / "final" / "model")}
    (out / "quickstart.json").write_text(json.dumps(result, indent=2))
    return result
