"""Describe a checkpoint from its headers and configs, without loading the weights."""

from __future__ import annotations

import json
import os
from pathlib import Path

from video.models.lora_info import lora_fields
from video.models.svd import (
    CheckpointError,
    builtin_config,
    damaged_safetensors,
    detect_layout,
    is_diffusers_folder,
)

# The commands that run a model folder of each kind (`video info` names them); a Wan folder only
# where text-to-video runs it whole (video.models.wan.t2v_parts). No command here runs the others.
RUN_WITH = {"svd": ("img2vid", "edit TASK"), "svd_xt": ("img2vid", "edit TASK"),
            "dit_t2v": ("txt2vid", "edit TASK"), "wan_t2v": ("txt2vid", "edit TASK"),
            "wan_vace": ("edit TASK",), "wan_animate": ("animate",)}


def safetensors_shapes(path: Path) -> tuple[dict[str, tuple[int, ...]], dict[str, str], set[str]]:
    """Key -> shape, the header's metadata, and the dtypes, read from the header only. A header
    that does not read is :class:`~video.models.svd.DamagedSafetensors` naming ``path``
    (safetensors' own error does not say which file); a file that does not open, one line
    naming it (a link to nothing: "a broken link (-> TARGET)", as ``--model`` says)."""
    from safetensors import SafetensorError, safe_open

    from video.models.sniff import broken_link

    shapes, dtypes = {}, set()
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            for k in f.keys():
                sl = f.get_slice(k)
                shapes[k] = tuple(sl.get_shape())
                dtypes.add(str(sl.get_dtype()))
    except SafetensorError as e:
        raise damaged_safetensors(path, e) from None
    except OSError as e:
        raise CheckpointError(f"{path}: {broken_link(path) or e.strerror or type(e).__name__}") from None
    return shapes, meta, dtypes


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _part_parameters(sub: Path) -> tuple[int, set[str]]:
    """Parameters and dtypes of the files the loader reads from a part folder: one variant
    (components.pick_variant, as loading), not the plain and fp16 copies summed."""
    from video.models.components import pick_variant, weight_files

    n, dtypes = 0, set()
    for f in weight_files(sub, pick_variant(sub)):
        shapes, _, dt = safetensors_shapes(f)
        n += sum(_numel(x) for x in shapes.values())
        dtypes |= dt
    return n, dtypes


def _folder_parameters(p: Path) -> tuple[dict[str, int], set[str]]:
    """Parameters per subfolder (transformer, vae, text_encoder...) from safetensors headers."""
    params, dtypes = {}, set()
    for sub in sorted(q for q in p.iterdir() if q.is_dir()):
        n, dt = _part_parameters(sub)
        dtypes |= dt
        if n:
            params[sub.name] = n
    return params, dtypes


def _describe_config(source: str | Path) -> dict | None:
    """One of our DiT or text-to-video configs by name (``configs/model``), counted on the meta
    device; None for anything else. A name of :func:`info_names` is the config whatever the
    working folder holds (``video info builtin:t2v_tiny`` read a ./t2v_tiny folder)."""
    import yaml

    from video.config import CONFIG_DIR

    builtin = str(source) in info_names()
    named = CONFIG_DIR / "model" / f"{source}.yaml"
    if (builtin or not Path(source).exists()) and named.is_file():
        cfg = yaml.safe_load(named.read_text()) or {}
        dit = cfg.get("dit") if "backbone" in cfg else cfg if "patch_size" in cfg else None
        if dit is None:
            return None
        import torch

        from video.config import load_config
        from video.models.dit import DiT, DiTConfig

        if "backbone" in cfg and str(source) == "t2v_tiny":  # the parts `--model tiny` builds: each one's count
            from video.runtime.txt2vid import build_tiny

            m = build_tiny()
            params = {part: sum(q.numel() for q in mod.parameters())
                      for part, mod in (("transformer", m.transformer), ("text_encoder", m.text_encoder),
                                        ("vae", m.vae))}
            return {"model": str(source), "layout": "random weights (config)",
                    "kind": "text-to-video (DiT + text encoder + VAE)", "parameters": params}
        with torch.device("meta"):  # counts without allocating
            n = sum(q.numel() for q in DiT(load_config(DiTConfig, dict(dit))).parameters())
        return {"model": str(source), "layout": "random weights (config)",
                "kind": "text-to-video DiT (the text encoder and VAE come with a model folder)" if "backbone" in cfg
                else "DiT transformer", "parameters": {"transformer": n}}
    return None


def _describe_folder(p: Path) -> dict | None:
    """Any model folder but SVD's diffusers layout, as ``video models`` names it
    (:func:`~video.models.detect.detect_kind`: the one place that knows what a folder is), with
    its parameters and the command that runs it (:func:`run_with`). ``video info`` said "not a
    diffusers SVD folder" for an SD, CogVideoX or HunyuanVideo folder that ``video models``
    named, and called a Wan folder by its pipeline class where ``video models`` said
    ``wan_t2v``. None for a folder with no model files (detect_layout then says what it holds)."""
    from video.models.detect import NO_MODEL_FILES, TRAINING_CHECKPOINT, detect_kind, run_exports

    found = detect_kind(p)
    if found["detail"] == NO_MODEL_FILES:
        if run_exports(p) or _image_stage_run(p) is not None:
            return None  # a training run or its final/: detect_layout names the model it holds
        return _describe_loose_part(p)
    if found["kind"] == TRAINING_CHECKPOINT:
        return _describe_checkpoint(p, found)
    ours = found["kind"] == "dit_t2v" and (p / "video_pipeline.yaml").is_file()
    layout = ("text-to-video folder (ours)" if ours else "diffusers folder" if (p / "model_index.json").is_file()
              else "folder with config.json" if (p / "config.json").is_file() else "folder")
    info = {"model": str(p), "layout": layout, **_kind_and_gaps(found)}
    if ours:
        cfg = _our_config(p)
        info.update({k: cfg[k] for k in ("backbone", "sampling") if k in cfg})
        if isinstance(info.get("sampling"), dict) and not info["sampling"].get("shift"):
            # 0 (or none) is the stored "from the token count", which --shift 0 refuses: said as a run reads it
            info["sampling"] = {**info["sampling"], "shift": "auto"}
    params, dtypes = _folder_parameters(p)
    own, own_dtypes = _part_parameters(p)  # a part saved alone (config.json beside its weights)
    if own:
        params = {"total": own, **params}
    if params:  # none for a folder of configs, or of pickled weights only (not read)
        info.update({"dtypes": ",".join(sorted(dtypes | own_dtypes)), "parameters": params})
    if found["kind"] in RUN_WITH and found["kind"].startswith("wan_") and whole_folder(p, found["kind"]):
        from video.models.wan import scheduler_problem

        broken = scheduler_problem(p)  # its loaders refuse it: named here, and no run_with line
        info.update({"broken": broken} if broken else {})
    runs = None if "missing" in info or "broken" in info else run_with(p, found["kind"])
    return {**info, "run_with": runs} if runs else info


def _image_stage_run(p: Path) -> Path | None:
    """:func:`video.models.svd._image_stage_run`: an SVD image-pretraining run (or its final/),
    which detect_layout answers with the command that starts its video stage."""
    from video.models.svd import _image_stage_run as image_stage_run

    return image_stage_run(p)


def loose_part(p: Path) -> dict | None:
    """What the folder ``p`` is when it has none of a model folder's marker files
    (:data:`~video.models.detect.NO_MODEL_FILES`) but holds the weights of one network of a model
    (:data:`KIND_NAMES`, :data:`_PART_KINDS`), as ``video models`` lists the file inside: our
    DiT's ``transformer/`` (``model.safetensors`` alone, no config.json). ``{"kind", "detail",
    "files"}`` (the weight files the part loader reads), else None (other or several kinds, or
    none: not a model). A training run or its ``final/`` is the caller's to rule out."""
    from video.models.components import weight_files
    from video.models.detect import detect_kind

    files = weight_files(p, None) if p.is_dir() else []
    try:
        found = [detect_kind(f) for f in files]
    except CheckpointError:  # a damaged file: not a part to describe (the loaders name it)
        return None
    kinds = {(x["kind"], x["detail"]) for x in found}
    if len(kinds) != 1:
        return None
    ((kind, detail),) = kinds
    if kind not in KIND_NAMES and kind not in _PART_KINDS:
        return None
    return {"kind": kind, "detail": f"{detail} ({', '.join(f.name for f in files)})", "files": files}


def whole_model_hint(p: Path) -> str:
    """What to give instead of the part folder ``p``: its parent's command lines where the parent
    is a whole model a command runs (:func:`run_commands`; our ``transformer/`` in its text-to-video
    folder), else "give the whole model's folder"."""
    from video.models.detect import detect_kind

    parent = p.resolve().parent
    try:
        commands = run_commands(parent, detect_kind(parent)["kind"]) if parent != p.resolve() else []
    except CheckpointError:
        commands = []
    if commands:
        return "run the folder above it: " + " or ".join(f"`{c}`" for c in commands)
    return "give the whole model's folder"


# Part folders of the whole model folders the commands run (SVD's, Wan's, ours).
_PART_FOLDERS = ("unet", "vae", "image_encoder", "transformer", "transformer_2", "text_encoder")


def whole_model_near(path: Path, otherwise: str = "give the whole model's folder") -> str:
    """What to give instead of the file ``path``, one network of a model saved alone: the whole
    model beside it, with the commands that run it, where there is one: a run's ``final/model``
    beside its ``final/trainable.safetensors``, or the model folder whose part folder holds the
    file (``unet/diffusion_pytorch_model.safetensors``); else ``otherwise``. img2vid said only
    what such a file is ("UNet alone (diffusers keys)"), with no way on."""
    from video.models.detect import detect_kind

    here = path.parent
    nearby = [(here / "model", "render its run's export")]
    if here.resolve().name in _PART_FOLDERS:
        nearby.append((here / "..", "run the model folder it is part of"))
    for folder, what in nearby:
        folder = Path(os.path.normpath(folder))
        try:
            commands = run_commands(folder, detect_kind(folder)["kind"]) if folder.is_dir() else []
        except (CheckpointError, OSError):
            commands = []
        if commands:
            return f"{what}: " + " or ".join(f"`{c}`" for c in commands)
    return otherwise


def folder_contents(p: Path, shown: int = 5) -> str:
    """What the folder ``p`` holds, for a line saying it is not a model: up to ``shown`` names
    (folders with a trailing /), then how many more."""
    names = sorted(q.name + ("/" if q.is_dir() else "") for q in p.iterdir())
    if not names:
        return "an empty folder"
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return f"a folder holding {', '.join(names[:shown])}{more}"


def _describe_loose_part(p: Path) -> dict:
    """``video info`` on a folder with no model folder's marker files: the part it holds
    (:func:`loose_part`, with its parameters and what to run instead), else one line that it is
    not a model, with what it holds. It said img2vid's loader line ("not a diffusers SVD folder
    (unet/, vae/, image_encoder/) nor a .safetensors file") for our DiT's transformer/, a
    tokenizer/, a latent cache and a kohya image folder alike."""
    part = loose_part(p)
    if part is None:
        raise CheckpointError(peft_adapter_folder(p) or f"{p}: not a model this tool recognises ({folder_contents(p)})")
    params, dtypes = _part_parameters(p)
    return {"model": str(p), "layout": "folder (weights without config.json)", "kind": part["kind"],
            "detail": f"{part['detail']}: one part of a model, not a whole one; {whole_model_hint(p)}",
            "dtypes": ",".join(sorted(dtypes)), "parameters": {"total": params}}


def peft_adapter_folder(p: Path) -> str | None:
    """One line for peft's saved adapter folder (``adapter_config.json`` beside
    ``adapter_model.safetensors``): a LoRA, whose file ``--lora`` takes; None for any other."""
    weights = p / "adapter_model.safetensors"
    if (p / "adapter_config.json").is_file() and weights.is_file():
        return f"{p}: a peft LoRA, not a model: give {weights} with --lora"
    return None


def _kind_and_gaps(found: dict) -> dict:
    """``kind``, ``detail`` and ``missing`` of a folder as :func:`~video.models.detect.detect_kind`
    found it: the parts its loader needs and it lacks on a line of their own (where a
    ``run_with`` line would be), not also at the end of the detail, as ``video models`` puts
    them on its one line."""
    from video.models.components import MISSING

    if "missing" not in found:
        return {"kind": found["kind"], "detail": found["detail"]}
    return {"kind": found["kind"], "detail": found["detail"].removesuffix(MISSING + found["missing"]),
            "missing": found["missing"]}


def _describe_checkpoint(p: Path, found: dict) -> dict:
    """A training checkpoint folder: what to render instead (the detail), and the parameters of
    its ``model.safetensors`` (its optimizer, EMA and RNG files are not a model's; FSDP's
    ``shards/`` hold them all in one, so none are counted there)."""
    info = {"model": str(p), "layout": "training checkpoint", "kind": found["kind"], "detail": found["detail"]}
    weights = p / "model.safetensors"
    if weights.is_file():
        shapes, _, dtypes = safetensors_shapes(weights)
        info.update({"dtypes": ",".join(sorted(dtypes)),
                     "parameters": {"model": sum(_numel(s) for s in shapes.values())}})
    return info


def _our_config(p: Path) -> dict:
    """Our folder's ``video_pipeline.yaml``; one line naming it when it does not read as a
    mapping (yaml's own error was a traceback), as text-to-video's loader says it."""
    import yaml

    try:
        cfg = yaml.safe_load((p / "video_pipeline.yaml").read_text()) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise CheckpointError(f"{p}: video_pipeline.yaml: {str(e).splitlines()[0]}") from None
    if not isinstance(cfg, dict):
        raise CheckpointError(f"{p}: video_pipeline.yaml: expected a mapping of settings, found "
                              f"{type(cfg).__name__}")
    return cfg


def whole_folder(p: Path, kind: str) -> bool:
    """Whether the folder ``p`` of ``kind`` is a whole model, as the commands take it (SVD's
    unet/, vae/ and image_encoder/; our video_pipeline.yaml; a pipeline's model_index.json),
    not a part saved alone (a UNet or transformer folder). The one rule :func:`run_with` and
    the ComfyUI loader apply."""
    return {"svd": is_diffusers_folder(p), "svd_xt": is_diffusers_folder(p),
            "dit_t2v": (p / "video_pipeline.yaml").is_file()}.get(kind, (p / "model_index.json").is_file())


def wan_folder_refusal(p: Path, kind: str) -> str | None:
    """Why text-to-video does not run the whole Wan folder ``p`` (image-to-video, Wan 2.2 TI2V,
    another pipeline: :func:`video.models.wan.t2v_parts`'s one line, less the path), or None
    where it does or ``kind`` is not one it reads (wan_t2v, wan_i2v)."""
    if kind not in ("wan_t2v", "wan_i2v"):
        return None
    from video.models.wan import read_model_index, t2v_parts

    try:
        t2v_parts(p, read_model_index(p))
    except CheckpointError as e:
        return str(e).removeprefix(f"{p}: ")
    return None


def run_commands(p: Path, kind: str) -> list[str]:
    """The command lines that run the model folder ``p`` of ``kind`` (:data:`RUN_WITH`); none
    for a kind no command runs, a part saved alone (:func:`whole_folder`) and a Wan folder
    text-to-video does not run whole (:func:`wan_folder_refusal`)."""
    if kind not in RUN_WITH or not whole_folder(p, kind) or wan_folder_refusal(p, kind) is not None:
        return []
    return _command_lines(p, kind)


def _command_lines(p: Path, kind: str) -> list[str]:
    """``video COMMAND --model P`` for each command of :data:`RUN_WITH` that runs ``kind``."""
    return [f"video {command} --model {p}" for command in RUN_WITH.get(kind, ())]


def run_with(p: Path, kind: str) -> str | None:
    """How to run the model folder ``p`` of ``kind`` (:data:`RUN_WITH`): the commands, or, for a
    Wan folder text-to-video does not run whole (image-to-video, Wan 2.2 TI2V), its loader's
    reason (:func:`wan_folder_refusal`); None for a kind no command runs and for a part saved
    alone (:func:`whole_folder`: the commands take the whole model's folder)."""
    if not whole_folder(p, kind) or not (kind in RUN_WITH or kind.startswith("wan_")):
        return None
    reason = wan_folder_refusal(p, kind)
    if reason is not None:
        return "nothing here: " + reason
    from video.models.components import missing_parts

    if missing_parts(p, kind):  # its loader would refuse it: describe() names the parts instead
        return None
    return "; ".join(run_commands(p, kind)) or None


# What each runnable kind is, in the words of a wrong-model line (:func:`wrong_model`).
KIND_NAMES = {"svd": "an image-to-video model (SVD)", "svd_xt": "an image-to-video model (SVD-XT)",
              "dit_t2v": "a text-to-video model (our DiT)", "wan_t2v": "a text-to-video model (Wan)",
              "wan_i2v": "an image-to-video model (Wan)", "wan_vace": "a video editing model (Wan VACE)",
              "wan_animate": "a character animation model (Wan Animate)"}
_PART_KINDS = ("vae", "clip_vision", "text_encoder")  # folders that are one network of a model


def wrong_model(p: Path, command: str) -> str | None:
    """One line for a ``--model`` path that ``video COMMAND`` (img2vid, txt2vid) cannot load:
    what it is, as ``video models`` names it (:func:`~video.models.detect.detect_kind`), and
    what runs it (:func:`run_commands`): a text-to-video model given to img2vid was only "not a
    diffusers SVD folder", a training checkpoint or a video file the same. None where
    ``command`` runs it (its loader's own errors say what is wrong inside) or nothing more is
    known than the command's own message says; single files other than a checkpoint's or a
    video/image are left to the loaders' lines (sgm keys, Wan's single file, pickles)."""
    from video.models.detect import (
        MEDIA,
        NO_MODEL_FILES,
        NOT_SUPPORTED,
        TRAINING_CHECKPOINT,
        detect_kind,
        run_exports,
    )

    try:
        found = detect_kind(p)
    except CheckpointError:  # a damaged file: the loader's own line names it
        return None
    kind, detail = found["kind"], found["detail"]
    if kind in (MEDIA, TRAINING_CHECKPOINT):
        return f"{p}: {detail}"
    if not p.is_dir():
        if not _whole_svd_file(found):
            return None
        commands = _command_lines(p, kind)  # an SVD checkpoint given to txt2vid: what runs it, as for its folder
        if any(c.startswith(f"video {command} ") for c in commands):
            return None
        return f"{p} is {KIND_NAMES[kind]}: render it with " + " or ".join(f"`{c}`" for c in commands)
    reason = wan_folder_refusal(p, kind) if whole_folder(p, kind) else None
    if reason is not None:
        return f"{p}: {reason}"
    commands = run_commands(p, kind)
    if any(c.startswith(f"video {command} ") for c in commands):
        return None
    if commands:
        return f"{p} is {KIND_NAMES[kind]}: render it with " + " or ".join(f"`{c}`" for c in commands)
    if kind in _PART_KINDS or (kind in KIND_NAMES and "alone" in detail):  # a UNet / transformer folder
        return f"{p}: {detail}: one part of a model, not a whole one; {whole_model_hint(p)}"
    if detail == NO_MODEL_FILES and (peft := peft_adapter_folder(p)) is not None:
        return peft
    if detail == NO_MODEL_FILES and not run_exports(p) and (part := loose_part(p)) is not None:
        return f"{p}: {part['detail']}: one part of a model, not a whole one; {whole_model_hint(p)}"
    if kind == "unknown" and (NOT_SUPPORTED in detail or detail.startswith("diffusers folder of")):
        return f"{p}: {detail}" + ("" if NOT_SUPPORTED in detail else f" {NOT_SUPPORTED}")
    return None


def _whole_svd_file(found: dict) -> bool:
    """Whether a single file :func:`~video.models.detect.detect_kind` found is an SVD checkpoint
    the SVD loader runs (all its networks, no image decoder: :func:`~video.models.sgm_kind.describe_sgm`'s
    ``run_with`` rule), not a UNet saved alone."""
    from video.models.sgm import IMAGE_DECODER_NOTE
    from video.models.sgm_kind import UNET_ALONE

    return (found["kind"] in ("svd", "svd_xt") and "missing" not in found and found["detail"] != UNET_ALONE
            and IMAGE_DECODER_NOTE not in found["detail"])


def _describe_other_file(p: Path) -> dict:
    """A file that is not named as safetensors (a pickle, GGUF, an ncnn .param, a renamed
    safetensors file), as ``video models`` names it (:func:`~video.models.detect.detect_kind`;
    pickles only through ``torch.load(weights_only=True)``): ``video info`` said "not a
    diffusers SVD folder nor a .safetensors file" where ``video models`` named an upscaler."""
    from video.models.detect import MEDIA, detect_kind
    from video.models.sniff import claims_safetensors, is_pickled

    found = detect_kind(p)
    if found["kind"] == MEDIA:  # not a model: one line (exit 2), as a render command says
        raise CheckpointError(f"{p}: {found['detail']}")
    pickled = is_pickled(p) and not claims_safetensors(p)  # detect_kind reads such a file as safetensors
    note = pickle_note(p, found["kind"]) if pickled else None
    info = {"model": str(p), "layout": "pickled file" if pickled else "single file", "kind": found["kind"],
            "detail": f"{found['detail']}; {note}" if note else found["detail"]}
    if found["kind"] == "lora" and claims_safetensors(p):  # a LoRA saved as .bin: --lora loads it
        shapes, meta, _ = safetensors_shapes(p)
        info.update(lora_fields(p, shapes, meta))
    return info


def pickle_note(p: Path, kind: str) -> str | None:
    """What ``video info`` adds to the detail of the pickled file ``p`` of ``kind``: that no loader
    reads it, except where one does (``--embeddings`` loads a ``.pt`` / ``.bin`` embedding with
    ``torch.load(weights_only=True)``: "pickled, not loaded" was false there), and for an
    upscaler, whose detail already says what runs instead (``video upscale`` takes no PyTorch
    weights: "convert to .safetensors" led to a second refusal). A pickle named
    ``.safetensors`` is read by none (each takes the name for safetensors)."""
    from video.models.detect import PICKLED_NOTE
    from video.models.svd import PICKLED_SAFETENSORS, is_safetensors_name
    from video.prompts.embeddings import EMBEDDING_SUFFIXES

    if is_safetensors_name(p):
        return PICKLED_SAFETENSORS
    if (kind == "embedding" and p.suffix in EMBEDDING_SUFFIXES) or kind == "upscaler":
        return None
    return PICKLED_NOTE


def _unet_frames(config: Path) -> int | None:
    """``num_frames`` of an SVD UNet's config.json, None where it has none or there is no file (a
    download of the weights alone: :func:`~video.models.components.missing_parts` names it); one
    line naming the file when it is not a JSON object (json's own error was a traceback)."""
    if not config.is_file():
        return None
    try:
        cfg = json.loads(config.read_text())
    except ValueError as e:
        raise CheckpointError(f"{config}: not JSON ({str(e).splitlines()[0]})") from None
    if not isinstance(cfg, dict):
        raise CheckpointError(f"{config}: expected a JSON object, found {type(cfg).__name__}")
    return cfg.get("num_frames")


def info_names() -> list[str]:
    """The names ``video info`` takes besides paths: ``tiny-svd`` and every config under
    ``configs/model`` (SVD, DiT and text-to-video ones)."""
    from video.config import CONFIG_DIR

    return sorted({"tiny-svd", *(q.stem for q in (CONFIG_DIR / "model").glob("*.yaml"))})


def describe(source: str | Path) -> dict:
    """What ``source`` is (a path or a name of :func:`info_names`), from headers and configs only:
    a built-in name's networks are built on the meta device to count them (``svd`` took half a
    minute drawing 2.25B random weights). A folder or file is described as ``video models``
    names it (:func:`~video.models.detect.detect_kind`); SVD's layouts and safetensors files
    with their parameters per network."""
    from video.models.sniff import looks_pickled, not_weights
    from video.models.svd import is_safetensors_name

    p = Path(source).expanduser()
    if str(source) not in info_names():  # a built-in name is the config, whatever ./NAME holds
        if p.is_file() and (empty := not_weights(p)) is not None:  # it was "pickled" or "damaged safetensors"
            raise CheckpointError(f"{p}: {empty}")
        if p.is_dir() and not is_diffusers_folder(p):
            described = _describe_folder(p)
            if described is not None:
                return described
        elif p.is_file() and (not is_safetensors_name(p) or looks_pickled(p)):  # a pickle named .safetensors too
            return _describe_other_file(p)
    t2v = _describe_config(source)
    if t2v is not None:
        return t2v
    try:
        layout = detect_layout(source)
    except CheckpointError:
        if Path(source).expanduser().exists():
            raise
        raise CheckpointError(f"model {str(source)!r} not found: give a model folder or .safetensors file, or one "
                              f"of the names {', '.join(info_names())}") from None
    if layout == "config":
        from video.config import load_model_config
        from video.models.sgm import _empty_models

        cfg = load_model_config(builtin_config(source) or str(source))
        nets = dict(zip(("unet", "vae", "image_encoder"), _empty_models(cfg), strict=True))
        return {"model": str(source), "layout": "random weights (config)", "kind": cfg.name,
                "frames": nets["unet"].config.num_frames,
                "parameters": {k: sum(q.numel() for q in net.parameters()) for k, net in nets.items()}}
    p = Path(source)
    if layout == "diffusers":
        params, dtypes = {}, set()
        for sub in ("unet", "vae", "image_encoder"):
            params[sub], dt = _part_parameters(p / sub)
            dtypes |= dt
        frames = _unet_frames(p / "unet" / "config.json")
        kind = "svd_xt" if frames == 25 else "svd"
        from video.models.components import missing_parts
        from video.models.detect import detect_kind

        detail = _kind_and_gaps(detect_kind(p))["detail"]  # as `video models` says it, as for every other folder
        info = {"model": str(p), "layout": "diffusers folder", "kind": kind, "detail": detail, "frames": frames,
                "dtypes": ",".join(sorted(dtypes)), "parameters": params}
        gaps = missing_parts(p, kind)  # vae/ without its weights: vae=0 above, and img2vid refuses it
        return {**info, "missing": ", ".join(gaps)} if gaps else {**info, "run_with": run_with(p, kind)}
    shapes, meta, dtypes = safetensors_shapes(p)
    from video.models.detect import classify_keys
    from video.models.sgm_kind import describe_sgm

    found = classify_keys(shapes, meta, p.name)  # what `video models` calls it: the same kind and detail
    described = describe_sgm(p, shapes, meta, dtypes, found)  # an SVD checkpoint in sgm's layout
    if described is not None:
        return described
    lora = lora_fields(p, shapes, meta) if found["kind"] == "lora" else {}  # a Wan transformer alone, a LoRA...
    alphas = _lora_alphas(shapes, found)  # once: per key it was quadratic (11.7 s for a 700-layer kohya LoRA)
    return {"model": str(p), "layout": "single file", "kind": found["kind"], "detail": found["detail"],
            **lora, "keys": len(shapes), "dtypes": ",".join(sorted(dtypes)),
            "parameters": {"total": sum(_numel(s) for k, s in shapes.items() if k not in alphas)}}


def _lora_alphas(shapes: dict, found: dict) -> set[str]:
    """A LoRA's alpha scalars (kohya's ``LAYER.alpha``), which are its scales, not parameters:
    counted, a kohya file had 64 parameters more than the peft export of the same run."""
    if found["kind"] != "lora":
        return set()
    from video.models.lora_info import lora_key_kinds

    return {k for k, (_, kind) in lora_key_kinds(shapes).items() if kind == "alpha"}
