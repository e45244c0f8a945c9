"""What a model file or folder is, read from its keys, shapes, configs and metadata, never
from its name (downloads get renamed; one exception: an SVD file that does not say its frame
count is SVD-XT under Stability's XT names, as its loader reads it), without loading its weights.

Safetensors files are read from their headers. Pickled files (``.pt``/``.pth``/``.ckpt``/
``.bin``) are only opened with ``torch.load(weights_only=True)``, PyTorch's restricted
unpickler that refuses any object but tensors and plain containers; a file it refuses is
reported as "pytorch weights (not opened)". A file that claims to be safetensors (its first
bytes, or a ``.safetensors`` / ``.sft`` name) whose header does not read is an error naming it
(:class:`~video.models.svd.DamagedSafetensors`), not an "unrecognised file".
"""

from __future__ import annotations

import json
from pathlib import Path

from video.models.folder import KINDS, ModelsFolder, link_target
from video.models.lora_info import lora_key_kinds, lora_layout, lora_row, row_note  # noqa: F401 (re-exported)
from video.models.media_kind import _media_detail, media_format
from video.models.sniff import claims_safetensors, header_problem, is_pickled, not_weights

NCNN_MAGIC = "7767517"  # first line of every ncnn .param text file
_SVD_UNKNOWN = "SVD or SVD-XT (14 or 25 frames: not stated)"
_WAN_PIPELINES = {"WanPipeline": "wan_t2v", "WanImageToVideoPipeline": "wan_i2v",
                  "WanVACEPipeline": "wan_vace", "WanAnimatePipeline": "wan_animate"}
_WAN_TRANSFORMERS = {"WanTransformer3DModel": "wan_t2v", "WanVACETransformer3DModel": "wan_vace",
                     "WanAnimateTransformer3DModel": "wan_animate"}
_VAES = {"AutoencoderKL": "AutoencoderKL (image VAE)", "AutoencoderKLWan": "AutoencoderKLWan (Wan video VAE)",
         "AutoencoderKLTemporalDecoder": "AutoencoderKLTemporalDecoder (SVD's temporal decoder)",
         "AutoencoderKLHunyuanVideo": "AutoencoderKLHunyuanVideo (HunyuanVideo's video VAE)",
         "AutoencoderKLHunyuanVideo15": "AutoencoderKLHunyuanVideo15 (HunyuanVideo 1.5's video VAE)"}
# HunyuanVideo's diffusers pipelines beside the HunyuanVideo* ones (SkyReels V1 is a HunyuanVideo fine-tune).
_HUNYUAN_VIDEO_OTHERS = ("HunyuanSkyreelsImageToVideoPipeline",)
NOT_SUPPORTED = "(not supported here)"  # ends the detail of a video model known here that nothing here runs
# detect_kind's detail for a folder with none of the files a model folder has: not a model at all.
NO_MODEL_FILES = "a folder without model_index.json, video_pipeline.yaml or config.json"
# basicsr / lightning containers; ComfyUI's saved diffusion models (diffusers' single-file loader strips it too)
_WRAPPERS = ("params_ema.", "params.", "state_dict.", "module.", "model.diffusion_model.")
WAN_SINGLE_FILE = ("single file: a transformer without its text encoder and VAE; txt2vid and edit need the "
                   "diffusers folder")
# Kind folders whose loaders refuse pickles (--model, --lora, the ComfyUI loader): a pickled file
# listed there says so, rather than passing for a model that loads.
REFUSES_PICKLES = ("checkpoints", "diffusion_models", "loras")
PICKLED_NOTE = "pickled, not loaded: convert to .safetensors"
LABEL_WIDTH = 60  # `video models` pads names to the longest, and NAME -> TARGET labels up to this
TRAINING_CHECKPOINT = "training_checkpoint"  # kind of a `video train` checkpoint folder (checkpoints/step_N/)
MEDIA = "media"  # kind of a video or image file: not a model, named so rather than "unrecognised file"
# A run's export of each task (video.training.tasks): LoRA adapters, SVD stage 1's image UNet (no
# runtime: stage 2 starts from it), else the folder a render command loads.
_LORA_EXPORT, _IMAGE_STAGE_EXPORT, _MODEL_EXPORT = "lora.safetensors", "unet_image", "model"


def _result(kind: str, detail: str) -> dict:
    return {"kind": kind, "detail": detail}


def _json(p: Path) -> dict:
    """``p`` as a JSON object, or ``{}`` (missing, unreadable, or not an object: a list in a
    model_index.json raised AttributeError from ``.get``)."""
    try:
        found = json.loads(p.read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _name(value) -> str:
    """A class name read from a config: a string, else "" (a list there was unhashable)."""
    return value if isinstance(value, str) else ""


def is_hunyuan_video(cls: str) -> bool:
    """Whether a diffusers class is HunyuanVideo's: its pipelines (HunyuanVideoPipeline,
    HunyuanVideoImageToVideoPipeline, HunyuanVideoFramepackPipeline, HunyuanVideo15Pipeline,
    HunyuanVideo15ImageToVideoPipeline, HunyuanSkyreelsImageToVideoPipeline) and transformers
    (HunyuanVideo[Framepack|15]Transformer3DModel), by prefix so that a later one is named too;
    HunyuanDiT and HunyuanImage (image models) do not match."""
    return (cls.startswith("HunyuanVideo") and cls.endswith(("Pipeline", "Transformer3DModel"))) \
        or cls in _HUNYUAN_VIDEO_OTHERS


def _svd_by_frames(frames: int | None, where: str) -> dict:
    if frames == 25:
        return _result("svd_xt", f"SVD-XT (25 frames), {where}")
    if frames == 14:
        return _result("svd", f"SVD (14 frames), {where}")
    if frames is None:
        return _result("svd", f"{_SVD_UNKNOWN}, {where}")
    return _result("svd", f"SVD-shaped, {frames} frames, {where}")


def run_exports(p: Path) -> list[Path]:
    """What a ``video train`` run's ``final/`` (or the run folder itself) holds that a command
    loads: ``model/`` (a full run's export) and the LoRA files. The one place that knows where a
    run keeps them: a run folder or its ``final/`` given as ``--model`` is told these paths
    (:func:`video.models.svd.detect_layout`, text-to-video's hint), not only what it is not."""
    found = []
    for base in (p, p / "final"):
        found += [q for q in (base / _MODEL_EXPORT, base / _LORA_EXPORT, base / "lora_kohya.safetensors")
                  if (q.name == _MODEL_EXPORT and q.is_dir()) or q.is_file()]
    return found


def is_training_checkpoint(p: Path) -> bool:
    """Whether the folder ``p`` is a checkpoint as the trainer writes it
    (:mod:`video.training.state`): ``state.json`` beside the weights, ``model.safetensors`` (one
    process, DDP) or ``shards/`` (FSDP's per-rank DCP files). It holds no runtime folder, so
    every loader said only "not a diffusers SVD folder" / "neither our text-to-video layout"."""
    return (p / "state.json").is_file() and ((p / "model.safetensors").is_file() or (p / "shards").is_dir())


def _checkpoint_detail(p: Path) -> str:
    """What the checkpoint folder ``p`` is and what to render instead: its run's export
    (:func:`_export_hint`), the run being the folder above ``checkpoints/``."""
    state = _json(p / "state.json")
    step = state.get("step")
    about = [f"step {step}"] if isinstance(step, int) else []
    if (p / "shards").is_dir():
        about.append("FSDP shards")
    what = "a training checkpoint" + (f" ({', '.join(about)})" if about else "")
    config = state.get("config") if isinstance(state.get("config"), dict) else {}
    if p.parent.name != "checkpoints":  # copied out of its run: the run is unknown
        return f"{what}, not a model: render its run's final/{_export_name(config)} (written when the run finishes)"
    run = p.parent.parent
    return f"{what} of {run}, not a model: {_export_hint(run, config)}"


def _export_name(config: dict) -> str:
    """What in ``final/`` a run of ``config`` (a checkpoint's recorded config) exports."""
    lora = config.get("lora") if isinstance(config.get("lora"), dict) else {}
    if lora.get("enabled"):
        return _LORA_EXPORT
    return _IMAGE_STAGE_EXPORT if config.get("task") == "svd_image" else _MODEL_EXPORT


def _export_hint(run: Path, config: dict) -> str:
    """What of the run folder ``run`` (trained with ``config``) to render: its export when it
    is there, with the command that runs it; else how to finish the run, which writes it (a
    checkpoint has no export command: ``video train`` exports when the run ends)."""
    target = run / "final" / _export_name(config)
    if not target.exists():
        again = f" (`video train {run / 'config.yaml'} out={run}`)" if (run / "config.yaml").is_file() else ""
        return (f"its run has not finished (no {target} yet): rerun its `video train` command{again}, which "
                f"resumes from its latest checkpoint and writes {target} when the run finishes")
    if target.name == _LORA_EXPORT:
        return f"render its base model with `--lora {target}` (the run's export)"
    if target.name == _IMAGE_STAGE_EXPORT:
        return f"its export {target} is an image stage with no runtime: the next stage starts from it (init_from={run})"
    from video.models.inspect import run_commands

    commands = run_commands(target, detect_kind(target)["kind"])
    return f"render {target} (the run's export)" + (f" with `{commands[0]}`" if commands else "")


def _detect_folder(p: Path) -> dict:
    if is_training_checkpoint(p):
        return _result(TRAINING_CHECKPOINT, _checkpoint_detail(p))
    index = _json(p / "model_index.json")
    cls = _name(index.get("_class_name"))
    if cls == "StableVideoDiffusionPipeline" or all((p / s).is_dir() for s in ("unet", "vae", "image_encoder")):
        return _with_gaps(p, _svd_by_frames(_json(p / "unet" / "config.json").get("num_frames"), "diffusers folder"))
    if cls in _WAN_PIPELINES:
        note = ""
        if index.get("expand_timesteps"):
            note = ", Wan 2.2 TI2V (expand_timesteps): not supported"
        elif _pipeline_part(index.get("transformer_2")):
            note = f", two experts (Wan 2.2), boundary_ratio {index.get('boundary_ratio')}"
        found = _result(_WAN_PIPELINES[cls], f"diffusers folder ({cls}{note})")
        return found if index.get("expand_timesteps") else _with_gaps(p, found)
    tcls = _name(_json(p / "transformer" / "config.json").get("_class_name"))
    if tcls in _WAN_TRANSFORMERS:
        return _result(_WAN_TRANSFORMERS[tcls], f"diffusers folder ({tcls})")
    if is_hunyuan_video(cls) or (not cls and is_hunyuan_video(tcls)):
        return _result("unknown", f"a HunyuanVideo diffusers folder of {cls or tcls} {NOT_SUPPORTED}")
    if (p / "video_pipeline.yaml").is_file() and (p / "transformer").is_dir():
        return _with_gaps(p, _result("dit_t2v", "our text-to-video folder (video_pipeline.yaml, DiT transformer)"))
    config = _json(p / "config.json")
    archs = config.get("architectures")
    ccls = _name(config.get("_class_name")) or _name(archs[0] if isinstance(archs, list) and archs else "")
    if ccls in _VAES:
        return _result("vae", f"{_VAES[ccls]}, diffusers folder")
    if ccls in _WAN_TRANSFORMERS:
        return _result(_WAN_TRANSFORMERS[ccls], f"transformer alone ({ccls})")
    if is_hunyuan_video(ccls):
        return _result("unknown", f"a HunyuanVideo transformer folder of {ccls} {NOT_SUPPORTED}")
    if ccls == "UNetSpatioTemporalConditionModel":
        return _svd_by_frames(config.get("num_frames"), "UNet alone")
    if ccls == "CLIPVisionModelWithProjection":
        return _result("clip_vision", f"{ccls} (transformers folder)")
    if ccls.endswith(("EncoderModel", "TextModel", "TextModelWithProjection")):
        return _result("text_encoder", f"{ccls} (transformers folder)")
    if cls:
        return _result("unknown", f"diffusers folder of {cls}")
    return _result("unknown", _unknown_folder(p, ccls))


def _with_gaps(p: Path, found: dict) -> dict:
    """``found`` (a whole model folder's kind) with what its loader needs and ``p`` lacks
    (:func:`missing_parts`) named: ``missing`` and the end of the detail, so ``video models``
    says it on the folder's one line too."""
    from video.models.components import MISSING, missing_parts

    gaps = missing_parts(p, found["kind"])
    if gaps:
        found["missing"] = ", ".join(gaps)
        found["detail"] += MISSING + found["missing"]
    return found


def _pipeline_part(entry) -> str:
    """The class of a model_index.json entry (``["diffusers", "WanTransformer3DModel"]``), or ""."""
    return _name(entry[1]) if isinstance(entry, (list, tuple)) and len(entry) == 2 else ""


def _unknown_folder(p: Path, config_class: str) -> str:
    """What a folder with none of the known layouts has: the class its config.json names (a
    folder is only listed for its marker files, so "without config.json" was false for most),
    or that its JSON file is not a JSON object (it said "names no class" for a broken file)."""
    for name, names in (("config.json", "no model class (_class_name or architectures)"),
                        ("model_index.json", "no pipeline class (_class_name)")):
        if (p / name).is_file():
            if name == "config.json" and config_class:
                return f"a folder whose config.json names {config_class}, no model class known here"
            if not _is_json_object(p / name):
                return f"a folder whose {name} does not read as a JSON object"
            return f"a folder whose {name} names {names}"
    if (p / "video_pipeline.yaml").is_file():
        return "a folder with video_pipeline.yaml but no transformer/ (nor unet/, vae/, image_encoder/)"
    return NO_MODEL_FILES


def _is_json_object(p: Path) -> bool:
    try:
        return isinstance(json.loads(p.read_text()), dict)
    except (OSError, ValueError):
        return False


def classify_keys(shapes: dict[str, tuple[int, ...]], meta: dict | None = None, name: str = "") -> dict:
    """Kind of a state dict from its key names and shapes (the header of a single file); ``name``
    (the file's) only tells an SVD-XT file that does not say so (:func:`~video.models.sgm_kind.classify_sgm`)."""
    from video.models.sgm_kind import classify_sgm

    meta = meta or {}
    keys = set(shapes)
    found = classify_sgm(shapes, meta, name)  # an SVD checkpoint or its UNet alone, in sgm's names
    if found is not None:
        return found
    layout = lora_layout(keys)
    if layout is not None:
        return _result("lora", layout)
    from video.models.lora_keys import lycoris_kinds

    lycoris = lycoris_kinds(keys)  # what --lora refuses by name (it said "N tensors, e.g. ..." here)
    if lycoris:
        return _result("unknown", f"{' + '.join(lycoris)} weights, not a LoRA: --lora refuses them")
    if "emb_params" in keys or any(k.startswith("string_to_param") for k in keys):
        shape = next(s for k, s in shapes.items() if k == "emb_params" or k.startswith("string_to_param"))
        return _result("embedding", f"textual inversion, {_vectors(shape)}")
    if keys and keys <= {"clip_l", "clip_g"}:
        return _result("embedding", "textual inversion (SDXL: " + ", ".join(sorted(keys)) + ")")
    if len(keys) == 1 and len(next(iter(shapes.values()))) <= 2 and _numel(next(iter(shapes.values()))) <= 128 * 4096:
        return _result("embedding", f"textual inversion (one tensor), {_vectors(next(iter(shapes.values())))}")
    family = _image_family(keys)
    if family:
        return _result("image_model", f"an image model ({family}), not a video model: ComfyUI's image loaders "
                                      "load it")
    bare = {_unwrap(k): s for k, s in shapes.items()}
    upscaler = _upscaler(bare)
    if upscaler:
        return _result("upscaler", upscaler)
    return _network(bare)


def _image_family(keys: set[str]) -> str | None:
    """SD 1.x/2.x, SDXL, SD3, Flux or a bare SD UNet, by the same key markers as the ComfyUI
    loader's refusal (:func:`video.comfy.refusals.image_family`), so ``video models`` / ``video
    info`` and the loader name such a file alike (it was "unknown, N tensors" here). Not a
    UNet with temporal layers (``time_stack``/``time_mix``: SVD's, saved without its VAE), which
    has the same ``input_blocks`` names; nor a ControlNet or a HunyuanVideo transformer, which
    :func:`~video.comfy.refusals.image_family` leaves to :func:`_network`."""
    from video.comfy.refusals import image_family

    if any("time_stack" in k or "time_mix" in k for k in keys):
        return None
    return image_family(sorted(keys))


def _unwrap(k: str) -> str:
    for w in _WRAPPERS:
        if k.startswith(w):
            return k[len(w):]
    return k


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _vectors(shape) -> str:
    if len(shape) == 2:
        return f"{shape[0]} vector(s) of {shape[1]}"
    return f"1 vector of {shape[0]}" if len(shape) == 1 else f"shape {tuple(shape)}"


def _upscaler(keys: dict) -> str | None:
    """Real-ESRGAN's two architectures (xinntao/Real-ESRGAN, basicsr.archs): RRDBNet
    (``conv_first``, ``body.N.rdb1``; the old ESRGAN files ``model.1.sub.N.RDB1``) and
    SRVGGNetCompact (a plain ``body.N`` conv/PReLU stack). Nothing here runs PyTorch weights
    (``video upscale`` runs ncnn conversions), so the detail ends by saying so, and which
    built-in network is the same one: "convert to .safetensors" helped nothing."""
    if "conv_first.weight" in keys and any(".rdb1." in k for k in keys):
        n = len({k.split(".")[1] for k in keys if k.startswith("body.") and ".rdb1." in k})
        first = keys["conv_first.weight"]
        same = _BUILTIN_RRDB.get(n) if len(first) == 4 and first[1] == 3 else None  # 12, 48: x2, x1 (unshuffled)
        return f"Real-ESRGAN RRDBNet ({n} RRDB blocks), pytorch weights {NOT_SUPPORTED}" + upscaler_note(same)
    if any(".RDB1." in k for k in keys) and "model.0.weight" in keys:
        return f"ESRGAN RRDBNet (old key layout), pytorch weights {NOT_SUPPORTED}" + upscaler_note(None)
    if keys and all(k.startswith("body.") and k.split(".")[1].isdigit() for k in keys):
        first = keys.get("body.0.weight")
        if first is not None and len(first) == 4 and first[1] == 3:
            convs = [s for k, s in keys.items() if k.endswith(".weight") and len(s) == 4]
            last = keys.get(f"body.{max(int(k.split('.')[1]) for k in keys)}.weight", ())
            # realesr-animevideov3: 16 body convs between the first and the last, 64 features, x4 (48 = 3 x 4^2)
            same = "realesr-animevideov3" if (len(convs), first[0], tuple(last[:1])) == (18, 64, (48,)) else None
            return (f"Real-ESRGAN SRVGGNetCompact ({len(convs)} convs, {first[0]} features), pytorch weights "
                    f"{NOT_SUPPORTED}" + upscaler_note(same))
    return None


_BUILTIN_RRDB = {23: "realesrgan-x4plus", 6: "realesrgan-x4plus-anime"}  # blocks of the x4 RRDBNets `video upscale` has


def upscaler_note(builtin: str | None) -> str:
    """The end of a PyTorch upscaler's detail: what ``video upscale`` runs instead."""
    if builtin:
        return f"; not run here: `video upscale` takes ncnn .param + .bin (the built-in {builtin} is this network)"
    return "; not run here: `video upscale` takes ncnn .param + .bin: convert it to ncnn (pnnx) and give the .param"


def _network(keys: dict) -> dict:
    """Transformers, VAEs and encoders saved alone (diffusers or original key names)."""
    ks = set(keys)
    if any(k.startswith("txt_in.individual_token_refiner.") for k in ks):  # Flux's double_blocks too
        return _result("unknown", f"a HunyuanVideo transformer {NOT_SUPPORTED}")
    if "patch_embedding.weight" in ks and any(k.startswith("blocks.") for k in ks):
        if any(k.startswith("vace_blocks.") for k in ks):
            return _result("wan_vace", f"Wan VACE transformer alone ({WAN_SINGLE_FILE})")
        if any(k.startswith(("pose_patch_embedding.", "motion_encoder.")) for k in ks):
            return _result("wan_animate", f"Wan Animate transformer alone ({WAN_SINGLE_FILE})")
        return _result("wan_t2v", f"Wan transformer alone ({WAN_SINGLE_FILE})")
    if "patch_embed.weight" in ks and "head_modulation" in ks and any(k.endswith(".modulation") for k in ks):
        return _result("dit_t2v", "our DiT transformer alone")
    if any(k.startswith("down_blocks.") and "temporal_res_block" in k for k in ks):
        size = _SVD_UNKNOWN if _published_unet(keys) else "SVD-shaped, not the published size (frames not stated)"
        return _result("svd", f"{size}, UNet alone (diffusers keys)")
    enc_dec = [k for k in ks if k.startswith(("encoder.", "decoder."))]
    if enc_dec and any(k.startswith(("quant_conv", "post_quant_conv", "decoder.conv_out", "decoder.head"))
                       for k in ks):
        # SVD's temporal decoder has 3D convolutions too, but in its decoder only
        if any(k.startswith("encoder.") and len(keys[k]) == 5 for k in enc_dec):
            return _result("vae", "video VAE with 3D convolutions (AutoencoderKLWan-like)")
        if any(k.startswith("decoder.") and ("time_" in k or "temporal" in k) for k in enc_dec):
            return _result("vae", _VAES["AutoencoderKLTemporalDecoder"] + ", single file")
        return _result("vae", _VAES["AutoencoderKL"] + ", single file")
    if any(k.startswith("vision_model.") for k in ks):
        return _result("clip_vision", "CLIP vision encoder alone")
    if any(k.startswith(("encoder.block.", "text_model.", "shared.")) for k in ks):
        return _result("text_encoder", "text encoder alone (T5/CLIP keys)")
    if any(k.startswith(("control_model.", "controlnet_")) for k in ks):
        return _result("controlnet", "ControlNet weights")
    if any(k.startswith(("zero_convs.", "input_hint_block.")) for k in ks):  # SD's input_blocks too
        return _result("controlnet", "ControlNet weights (ldm / ComfyUI key layout)")
    return _result("unknown", f"{len(ks)} tensors, e.g. {sorted(ks)[0] if ks else 'none'}")


def _published_unet(keys: dict) -> bool:
    """Whether a diffusers-keyed SVD UNet has the published files' size (configs/model/svd.yaml,
    which SVD and SVD-XT share: their input convolution and number of down blocks): only then
    is "14 or 25 frames" what it can be; a UNet a `video train` run of ``tiny`` saved was called so."""
    from video.config import load_model_config
    from video.models.sgm import PUBLISHED_ARCHITECTURE

    u = load_model_config(PUBLISHED_ARCHITECTURE).unet
    downs = {k.split(".")[1] for k in keys if k.startswith("down_blocks.")}
    return (tuple(keys.get("conv_in.weight", ())) == (u.block_out_channels[0], u.in_channels, 3, 3)
            and len(downs) == len(u.block_out_channels))


def _flat_shapes(obj, prefix: str = "", out: dict | None = None) -> dict:
    import torch

    out = {} if out is None else out
    if isinstance(obj, torch.Tensor):
        out[prefix.rstrip(".")] = tuple(obj.shape)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _flat_shapes(v, f"{prefix}{k}.", out)
    return out


def _detect_pickle(p: Path) -> dict:
    import warnings

    import torch

    try:  # mmap: the tensors are mapped, not read; needs the zip format of torch.save
        with warnings.catch_warnings():  # torch's "Detected pickle protocol N ... file an issue": not the user's
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            obj = torch.load(p, map_location="cpu", weights_only=True, mmap=True)
    except Exception:
        return _result("pytorch", "pytorch weights (not opened)")
    shapes = _flat_shapes(obj)
    if not shapes:
        return _result("pytorch", "pytorch file without tensors")
    found = classify_keys(shapes)
    head, mark, tail = found["detail"].partition(f" {NOT_SUPPORTED}")  # how it was read, before what runs it
    found["detail"] = f"{head} (read with torch.load(weights_only=True)){mark}{tail}"
    return found


def _detect_ncnn(p: Path) -> dict:
    try:
        with p.open() as f:
            magic = f.readline().strip()
            counts = f.readline().split()
    except (OSError, UnicodeDecodeError):
        magic, counts = "", []
    if magic != NCNN_MAGIC:
        return _result("unknown", "a .param file that is not an ncnn network")
    if not p.with_suffix(".bin").is_file():
        return _result("upscaler", "ncnn network (.param) whose .bin weights are missing")
    layers = f", {counts[0]} layers" if counts else ""
    return _result("upscaler", f"ncnn network (.param + .bin){layers}: a Real-ESRGAN conversion for `video upscale`")


def detect_kind(path: str | Path) -> dict:
    """``{"kind": ..., "detail": ...}`` for a model file or folder. Kinds: ``svd``, ``svd_xt``,
    ``wan_t2v``, ``wan_i2v``, ``wan_vace``, ``wan_animate``, ``dit_t2v``, ``vae``, ``lora``,
    ``embedding``, ``upscaler``, ``clip_vision``, ``text_encoder``, ``controlnet``, ``pytorch``
    (not opened), ``image_model`` (SD / SDXL / SD3 / Flux: no command here runs it),
    ``training_checkpoint`` (a ``video train`` checkpoint folder: the detail says what to render
    instead), ``media`` (a video or image file, by its first bytes), ``unknown``.
    A file named or shaped as safetensors whose header does not read raises
    :class:`~video.models.svd.DamagedSafetensors` naming it."""
    from video.models.svd import CheckpointError, is_safetensors_name

    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"{p}: no such file or folder")
    if p.is_dir():
        return _detect_folder(p)
    if (empty := not_weights(p)) is not None:  # an empty file, a Git LFS pointer: no weights whatever the name
        return _result("unknown", empty)
    if p.suffix.lower() == ".param":
        return _detect_ncnn(p)
    if p.suffix.lower() == ".bin" and p.with_suffix(".param").is_file():
        return _detect_ncnn(p.with_suffix(".param"))
    with p.open("rb") as f:
        head = f.read(12)
    if head[:4] == b"GGUF":
        return _result("unknown", "GGUF file (not read here)")
    # a render saved under a weights name (.safetensors too, .bin: a pickle by its name only): its
    # bytes say video first; bytes that start a safetensors header or a pickle are never media
    media = media_format(p)
    if media is not None:
        return _result(MEDIA, _media_detail(p, *media))
    # safetensors next: its header length may start with a pickle's bytes; "{" at byte 8 decides
    claimed, pickled = claims_safetensors(p), is_pickled(p)
    if claimed or (is_safetensors_name(p) and not pickled):
        from video.models.inspect import safetensors_shapes

        shapes, meta, _ = safetensors_shapes(p)  # does not read: DamagedSafetensors naming it
        return classify_keys(shapes, meta, p.name)
    if pickled:
        return _detect_pickle(p)
    return _result("unknown", f"unrecognised file ({p.suffix or 'no extension'})")


def list_models(models_dir: str | Path | None = None, extra_paths: list[str | Path] | None = None,
                extra_configs: list[str | Path] = ()) -> list[dict]:
    """Every model under the models folder and its extra paths, with its detected kind:
    ``[{"folder": kind folder, "name", "label", "path", "kind", "detail"}, ...]``, each model
    once; ``label`` is the name that loads it (:meth:`ModelsFolder.listing`: a copy shadowed by
    an earlier tree's file of the same name is labelled by its full path). A damaged safetensors
    file is kind ``unknown`` with the reason; a file that cannot be read otherwise, ``error``. A
    pickled file where the loaders refuse pickles (:data:`REFUSES_PICKLES`) says so, a model folder
    with a damaged part names it (:func:`damaged_parts`), and a link has ``link``, what it points to."""
    from video.models.svd import PICKLED_SAFETENSORS, DamagedSafetensors, is_safetensors_name

    folder = ModelsFolder(models_dir, extra_paths, extra_configs)
    out = []
    for sub in folder.kinds():
        for label, e in folder.listing(sub):
            try:
                found = detect_kind(e.path)
            except DamagedSafetensors as err:  # what it is cannot be read: say why
                found = _result("unknown", str(err))
            except Exception as err:  # one broken file must not hide the others
                found = _result("error", f"{type(err).__name__}: {err}")
            if found["kind"] == "lora" and e.path.is_file() and claims_safetensors(e.path):
                found.update(lora_row(e.path))  # the model it adapts and its rank, as `video info` says
            if sub in REFUSES_PICKLES and e.path.is_file() and found["kind"] != MEDIA and is_pickled(e.path):
                found["detail"] += f"; {PICKLED_SAFETENSORS if is_safetensors_name(e.path) else PICKLED_NOTE}"
            damaged = damaged_parts(e.path) if e.path.is_dir() else []
            if damaged:
                found["detail"] += "; damaged: " + ", ".join(damaged)
            link = link_target(e.path)
            out.append({"folder": sub, "name": e.name, "label": label, "path": str(e.path), **found,
                        **({"link": link} if link is not None else {})})
    return out


def damaged_parts(p: Path) -> list[str]:
    """``PART/FILE (why)`` for each safetensors file a loader reads from the model folder ``p``
    (each part's variant, as loading picks it; a part saved alone's own files) whose header
    does not hold up (:func:`~video.models.sniff.header_problem`: headers only, no tensor
    data). ``video models`` listed a folder with a truncated part as fine, which ``video info``
    and the loaders then called damaged."""
    from video.models.components import pick_variant, weight_files
    from video.models.svd import CheckpointError

    out = []
    for part in [p, *sorted(q for q in p.iterdir() if q.is_dir())]:
        try:
            files = weight_files(part, pick_variant(part), links=True)  # a broken link: named below
        except (CheckpointError, OSError):
            continue
        for f in files:
            why = header_problem(f)
            if why is not None:
                out.append(f"{f.relative_to(p).as_posix()} ({why})")
    return out


def cmd_models(args) -> int:
    """``video models``: what the models folder (and its extra paths) holds, by detected kind."""
    rows = list_models(args.models_dir, args.extra_paths or None, args.extra_model_paths_config)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    folder = ModelsFolder(args.models_dir, args.extra_paths or None)
    if not rows:
        print(f"no models under {folder.root} (subfolders: {', '.join(KINDS)})")
        return 0
    names = [r["label"] if r["label"] != r["name"] else f"{r['folder']}/{r['name']}" for r in rows]
    shown = [n + (f" -> {r['link']}" if "link" in r else "") for n, r in zip(names, rows, strict=True)]
    # a long link target (a hub cache's blob path) runs into its own row's columns, not every row's
    width = max(len(x) for x in [*names, *(x for x in shown if len(x) <= LABEL_WIDTH)])
    for r, label in zip(rows, shown, strict=True):
        print(f"{label:<{width}}  {r['kind']:<12}  {r['detail']}{row_note(r)}")
    return 0


def add_models_command(subparsers):
    """Register ``models`` on an argparse subparsers object; the handler is ``args.func``."""
    p = subparsers.add_parser("models", help="list the models folder (and extra_model_paths.yaml) by kind",
                              description="Walk the models folder ($VIDEO_MODELS or ./models, ComfyUI's layout) "
                                          "and the paths of an extra_model_paths.yaml; print each model's kind, "
                                          "read from its keys and configs, never its name.")
    p.add_argument("--models-dir", default=None, help="models folder (default: $VIDEO_MODELS, else ./models)")
    p.add_argument("--extra-paths", action="append", default=[],
                   help="a ComfyUI extra_model_paths.yaml (default: the one in or beside the models folder)")
    p.add_argument("--extra-model-paths-config", action="append", default=[],
                   help="a ComfyUI extra_model_paths.yaml read after the default one (ComfyUI's flag); repeatable")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_models)
    return p


__all__ = ["KINDS", "MEDIA", "NOT_SUPPORTED", "NO_MODEL_FILES", "TRAINING_CHECKPOINT",
           "add_models_command", "classify_keys", "cmd_models", "detect_kind", "is_hunyuan_video",
           "is_training_checkpoint", "list_models", "lora_key_kinds", "lora_layout", "media_format",
           "run_exports"]
