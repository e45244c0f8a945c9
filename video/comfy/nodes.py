"""The nodes, described once as data (:data:`NODES`) and turned into classes for both of
ComfyUI's node APIs: the current one (``comfy_api.latest.io.ComfyNode`` with
``define_schema``/``execute``) when ComfyUI provides it, and the older ``INPUT_TYPES`` /
``FUNCTION`` classes of ``NODE_CLASS_MAPPINGS``. Each node's work is one call into
:mod:`video.comfy.functions`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from video.comfy import curate as C
from video.comfy import functions as F
from video.config import SamplingConfig, TextToVideoSampling

CATEGORY = "video_pipeline"
MODEL_TYPE = "VIDEO_PIPELINE_MODEL"  # our own socket type: a functions.VideoModel
SEED_MAX = F.SEED_MAX  # 2**64 - 1: what torch takes, ComfyUI's KSampler's range, the CLI's --seed from 0 up


@dataclass(frozen=True)
class Param:
    """One input. ``type``: IMAGE, MASK, INT, FLOAT, STRING, BOOLEAN, COMBO or MODEL_TYPE;
    ``options`` (COMBO) is called when ComfyUI asks for the node's inputs, so new files show up."""

    name: str
    type: str
    default: object = None
    min: float | None = None
    max: float | None = None
    step: float | None = None
    multiline: bool = False
    optional: bool = False
    options: Callable[[], list[str]] | None = None
    tooltip: str = ""
    force_input: bool = False  # a socket only, no widget: the value comes linked from another node

    def widget(self) -> dict:
        """The options dict of ComfyUI's older API (``(type, {default, min, ...})``)."""
        out = {k: v for k, v in (("default", self.default), ("min", self.min), ("max", self.max),
                                 ("step", self.step)) if v is not None}
        if self.multiline:
            out["multiline"] = True
        if self.force_input:
            out["forceInput"] = True
        if self.tooltip:
            out["tooltip"] = self.tooltip
        return out


@dataclass(frozen=True)
class NodeSpec:
    node_id: str
    display_name: str
    description: str
    inputs: tuple[Param, ...]
    outputs: tuple[tuple[str, str], ...]  # (type, name)
    function: Callable
    is_output_node: bool = False
    extra: dict = field(default_factory=dict)
    fingerprint: Callable | None = None  # inputs -> a value that changes when the output would (IS_CHANGED)

    def call(self, **kw) -> tuple[tuple, dict | None]:
        """``(outputs, ui)``: the function's return value split into ComfyUI's two parts."""
        return split_result(self.function(**kw))


def split_result(out) -> tuple[tuple, dict | None]:
    """A function's value, tuple, or ``{"ui": ..., "result": (...)}`` -> ``(outputs, ui or None)``."""
    if isinstance(out, dict) and "result" in out:
        return tuple(out["result"]), out.get("ui")
    return (out if isinstance(out, tuple) else (out,)), None


def with_fps(function: Callable, fps_of: Callable[..., float]) -> Callable:
    """A sampling node's function returning ``(frames, fps)``: ``function``'s frames and the rate
    they play at, ``fps_of(**inputs)`` (called after ``function``: Text to Video's reads the
    pipeline it built). An IMAGE batch carries no rate; Write Video's ``fps_in`` takes this one.
    Its signature is ``function``'s (``functools.wraps``): the node's inputs are its parameters."""

    @functools.wraps(function)
    def run(**kw):
        return function(**kw), float(fps_of(**kw))

    return run


def _checkpoints() -> list[str]:
    return F.video_model_names()


def _loras() -> list[str]:
    return ["none", *F.model_names("loras")]


def _upscalers() -> list[str]:
    from video.edit.upscale import BASELINE, MODELS

    return [*MODELS, BASELINE, *(n for n in F.model_names("upscale_models") if n.endswith(".param"))]


def _load(ckpt_name: str, lora_name: str = "none", lora_strength: float = 1.0, dtype: str = "auto"):
    return F.load_video_model(ckpt_name, lora="" if lora_name == "none" else lora_name, lora_strength=lora_strength,
                              device=F.default_device(), dtype=dtype)


def _animate_modes() -> list[str]:
    from video.edit.animate import MODES

    return list(MODES)


SVD = SamplingConfig  # SVD's sampling defaults (configs/model/svd.yaml), the Image to Video widgets' defaults
T2V_GUIDANCE = TextToVideoSampling.guidance_scale  # what our DiT and Wan folders sample with by default
SEED = Param("seed", "INT", 0, 0, SEED_MAX, tooltip="one seed per clip: the same seed gives the same video")
STEPS0 = Param("steps", "INT", 0, 0, 200, tooltip="sampling steps; 0: the model's default")
NO_CFG = "1.0: no classifier-free guidance (the prompt alone, one model pass per step: about twice as fast)"
LORA_STRENGTH = dict(default=1.0, min=-4.0, max=4.0, step=0.05)
FPS_OUT = ("FLOAT", "fps")  # the clip's rate, for Write Video's fps_in
NEGATIVE = Param("negative_prompt", "STRING", "", multiline=True,
                 tooltip="what to steer away from (with guidance above 1). Empty: the model's default negative "
                         "prompt (its video_pipeline.yaml's; Wan diffusers folders have none). A single space: no "
                         "negative prompt, even where the model has a default")

NODES: tuple[NodeSpec, ...] = (
    NodeSpec("VideoPipelineModelLoader", "Load Video Model",
             "Loads SVD, Wan or our DiT from the models folder (checkpoints/, diffusion_models/ or unet/); the kind is "
             "read from the files. Optional LoRA from loras/ (more: chain Video LoRA nodes). Loads again when the "
             "checkpoint's or LoRA's files change on disk.",
             (Param("ckpt_name", "COMBO", options=_checkpoints,
                    tooltip="the video models this pack runs (SVD/SVD-XT, Wan 2.1 T2V, Wan VACE, Wan-Animate, our "
                            "DiT) found in checkpoints/, diffusion_models/ and the folders ComfyUI knows; image "
                            "checkpoints (SD 1.5, SDXL, Flux) are not listed. '(random weights, for tests)': built-in "
                            "smoke-test models that output noise"),
              Param("lora_name", "COMBO", options=_loras),
              Param("lora_strength", "FLOAT", **LORA_STRENGTH),
              Param("dtype", "COMBO", "auto", options=lambda: list(F.DTYPES), optional=True,
                    tooltip="weights' precision. auto: float32 on the CPU; on a GPU ComfyUI's choice for the card "
                            "(and its --fp16-unet/--bf16-unet flags): float16 for SVD, bfloat16 for Wan and our DiT "
                            "where the card has it")),
             ((MODEL_TYPE, "model"),), _load, fingerprint=F.model_fingerprint),
    NodeSpec("VideoPipelineLora", "Video LoRA",
             "Adds a LoRA from loras/ to the model, merged into its weights when a sampling node builds the "
             "pipeline; chain several to stack them (as the CLI's repeated --lora). SVD, our DiT and Wan T2V.",
             (Param("model", MODEL_TYPE),
              Param("lora_name", "COMBO", options=_loras, tooltip="none: the model as it is"),
              Param("strength", "FLOAT", **LORA_STRENGTH, tooltip="how strongly the LoRA applies (1.0: as trained; "
                                                                  "negative: away from it)")),
             ((MODEL_TYPE, "model"),), F.add_lora, fingerprint=F.lora_fingerprint),
    NodeSpec("VideoPipelineImageToVideo", "Image to Video (SVD)",
             "Animates the first image of the batch (the other images are not used).",
             (Param("model", MODEL_TYPE), Param("image", "IMAGE", tooltip="the first image of the batch is animated"),
              Param("frames", "INT", 0, 0, 128,
                    tooltip="frames to generate; 0: the model's (SVD 14, SVD-XT 25: what each was trained on; more "
                            "drifts)"),
              STEPS0, SEED,
              Param("fps", "INT", 0, 0, 60,
                    tooltip="the frame rate the model is told (a conditioning): lower usually gives more motion "
                            "between frames. 0: the model's (7 for SVD and SVD-XT; a model from `video train`: its "
                            "data's). Also the clip's rate, the fps output (link it to Write Video's fps_in)"),
              Param("motion_bucket_id", "INT", SVD.motion_bucket_id, 0, 1023,
                    tooltip="how much motion: higher moves more (127: SVD's default)"),
              Param("noise_aug_strength", "FLOAT", SVD.noise_aug_strength, 0.0, 1.0, 0.01,
                    tooltip="noise added to the conditioning image: higher strays further from it and moves more "
                            "(0.02: SVD's default)"),
              Param("width", "INT", 0, 0, 4096, 64, tooltip="0: the model's (SVD: 1024); the image is resized and "
                                                            "centre-cropped to the size"),
              Param("height", "INT", 0, 0, 4096, 64, tooltip="0: the model's (SVD: 576); the image is resized and "
                                                             "centre-cropped to the size"),
              Param("min_guidance_scale", "FLOAT", -1.0, -1.0, 30.0, 0.1, optional=True,
                    tooltip="guidance on the first frame, rising linearly to max_guidance_scale on the last. -1: "
                            "the model's own config (SVD: 1.0 to 2.5; SVD-XT: 1.5 to 3.0), which differ, so no one "
                            f"number fits both. {NO_CFG}"),
              Param("max_guidance_scale", "FLOAT", -1.0, -1.0, 30.0, 0.1, optional=True,
                    tooltip="guidance on the last frame; higher follows the image more closely. -1: the model's own "
                            f"config (SVD: 2.5; SVD-XT: 3.0). {NO_CFG}")),
             (("IMAGE", "frames"), FPS_OUT), with_fps(F.image_to_video, lambda model, fps=0, **_: F.image_to_video_fps(model, fps))),
    NodeSpec("VideoPipelineTextToVideo", "Text to Video",
             "Our DiT or Wan 2.1 T2V; 0 takes the model's default. fps: the rate the model samples at (Wan: 16; "
             "link it to Write Video's fps_in).",
             (Param("model", MODEL_TYPE), Param("prompt", "STRING", "", multiline=True), NEGATIVE,
              Param("frames", "INT", 0, 0, 257, tooltip="frames to generate (4k+1 for Wan); 0: the model's default "
                                                        "(Wan: 81, 5 s at 16 fps)"),
              Param("width", "INT", 0, 0, 4096, 16, tooltip="0: the model's default; a multiple of 16"),
              Param("height", "INT", 0, 0, 4096, 16, tooltip="0: the model's default; a multiple of 16"), STEPS0,
              Param("guidance_scale", "FLOAT", T2V_GUIDANCE, -1.0, 30.0, 0.1,
                    tooltip=f"classifier-free guidance: higher follows the prompt more closely ({T2V_GUIDANCE:.1f}: "
                            f"Wan 2.1's and our DiT's default). {NO_CFG}; 0: the negative prompt alone. -1 (older "
                            "workflows): the model folder's default"),
              SEED),
             (("IMAGE", "frames"), FPS_OUT), with_fps(F.text_to_video, lambda model, **_: F.text_to_video_fps(model))),
    NodeSpec("VideoPipelineInpaint", "Inpaint / Edit Video",
             "Regenerates the masked part of the frames (MASK values >= 0.5 = regenerate); strength < 1 keeps more "
             "of the input.",
             (Param("model", MODEL_TYPE), Param("images", "IMAGE"),
              Param("prompt", "STRING", "", multiline=True, tooltip="SVD models have no text encoder: ignored there"),
              Param("strength", "FLOAT", 1.0, 0.0, 1.0, 0.01), STEPS0, SEED, Param("mask", "MASK", optional=True)),
             (("IMAGE", "frames"),), F.inpaint_video),
    NodeSpec("VideoPipelineUpscale", "Upscale Video (Real-ESRGAN)", "Per-frame Real-ESRGAN (ncnn, CPU) or bicubic.",
             (Param("images", "IMAGE"), Param("scale", "INT", 2, 2, 4),
              Param("upscale_model", "COMBO", options=_upscalers)),
             (("IMAGE", "frames"),), F.upscale_video),
    NodeSpec("VideoPipelineAnimate", "Animate Character (Wan-Animate)",
             "The character of the first image of the batch moves as the pose video with the expressions of the face "
             "video (one face crop per pose frame, or one held for all); 'replace' puts it into the background video where the mask is "
             "white. Pose and face videos are preprocessed already.",
             (Param("model", MODEL_TYPE), Param("image", "IMAGE", tooltip="the character: the first image of the batch"),
              Param("pose_video", "IMAGE", tooltip="rendered skeleton frames"),
              Param("face_video", "IMAGE", tooltip="face crops: one per pose frame, or one image held for every frame"),
              Param("mode", "COMBO", "animate", options=_animate_modes),
              Param("prompt", "STRING", "", multiline=True), NEGATIVE,
              STEPS0, Param("guidance_scale", "FLOAT", 1.0, 0.0, 30.0, 0.1,
                            tooltip=f"classifier-free guidance; {NO_CFG}, Wan-Animate's default; higher follows the "
                                    "prompt more closely"),
              SEED, Param("width", "INT", 0, 0, 4096, 16, tooltip="0: the pose video's width"),
              Param("height", "INT", 0, 0, 4096, 16, tooltip="0: the pose video's height"),
              Param("segment_frames", "INT", 0, 0, 257, tooltip="frames per segment (4k+1); 0: up to 77"),
              Param("background_video", "IMAGE", optional=True, tooltip="replace mode: the video to put the "
                    "character in: one image, held, or at least as many frames as the pose video"),
              Param("mask", "MASK", optional=True, tooltip="replace mode: white = the character's region: one "
                    "mask, held, or at least as many frames as the pose video"),
              Param("fps", "FLOAT", F.ANIMATE_FPS, 1.0, 120.0, 0.001, optional=True,
                    tooltip="the pose video's frame rate, which the output keeps (one frame per pose frame): passed "
                            "on as the fps output for Write Video's fps_in")),
             (("IMAGE", "frames"), FPS_OUT), with_fps(F.animate_video, lambda fps=F.ANIMATE_FPS, **_: fps)),
    NodeSpec("VideoPipelineWriteVideo", "Write Video (mp4)",
             "Encodes IMAGE frames into the output folder: H.264 yuv420p with BT.709 tags and +faststart "
             "(players and browsers agree on its colours), VP9 webm, or gif. Returns the file's path.",
             (Param("images", "IMAGE"),
              Param("fps", "FLOAT", 7.0, 1.0, 120.0, 0.001,
                    tooltip="frames per second; 23.976, 29.97 too. A linked fps_in overrides it. gif: at most 50 "
                            "(a faster clip is written at 50 fps timing, all frames kept, and the console says so)"),
              Param("filename_prefix", "STRING", "video_pipeline/video"),
              Param("format", "COMBO", "mp4", options=lambda: list(F.VIDEO_FORMATS)),
              Param("crf", "INT", 18, 0, 51, tooltip="quality: lower is better (x264 17-19 is archive quality)"),
              Param("fps_in", "FLOAT", optional=True, force_input=True,
                    tooltip="the clip's rate from the sampling node's fps output (Text to Video: the model's, Wan "
                            "16): overrides the fps widget")),
             (("STRING", "path"),), F.write_video_file, is_output_node=True),
    NodeSpec("VideoPipelineCurate", "Curate Clips",
             "Scores every video in a folder with a curation recipe's scorers (motion, sharpness, black/frozen "
             "frames, borders, duplicates; no weights needed for 'quick') and applies its keep/drop rules. "
             "Returns the table and a contact sheet (green: kept, red: dropped).",
             (Param("folder", "STRING", "", tooltip="a folder of clips (searched recursively)"),
              Param("recipe", "COMBO", "quick", options=C.recipe_names),
              Param("table_format", "COMBO", "markdown", options=lambda: list(C.TABLE_FORMATS)),
              Param("max_preview", "INT", 32, 1, 256, tooltip="clips shown in the contact sheet")),
             (("STRING", "table"), ("IMAGE", "preview")), C.curate_folder, fingerprint=C.folder_fingerprint),
)


# --- ComfyUI's older API ---------------------------------------------------------------------

def input_types(spec: NodeSpec) -> dict:
    req, opt = {}, {}
    for p in spec.inputs:
        if p.type == "COMBO":
            entry = (p.options(), p.widget()) if p.default is not None or p.tooltip else (p.options(),)
        else:
            entry = (p.type, p.widget())
        (opt if p.optional else req)[p.name] = entry
    return {"required": req, "optional": opt} if opt else {"required": req}


def legacy_class(spec: NodeSpec) -> type:
    def INPUT_TYPES(cls):  # noqa: N802 (ComfyUI's name)
        return input_types(spec)

    def run(self, **kw):
        out, ui = spec.call(**kw)
        return out if ui is None else {"ui": ui, "result": out}

    attrs = {
        "INPUT_TYPES": classmethod(INPUT_TYPES), "RETURN_TYPES": tuple(t for t, _ in spec.outputs),
        "RETURN_NAMES": tuple(n for _, n in spec.outputs), "FUNCTION": "run", "CATEGORY": CATEGORY,
        "DESCRIPTION": spec.description, "OUTPUT_NODE": spec.is_output_node, "run": run, "SPEC": spec,
    }
    if spec.fingerprint is not None:
        attrs["IS_CHANGED"] = classmethod(lambda cls, **kw: spec.fingerprint(**kw))
    return type(spec.node_id, (), attrs)


# --- ComfyUI's current API (comfy_api.latest.io) ----------------------------------------------

def _io_input(io, p: Param):
    kw = {"optional": p.optional, "tooltip": p.tooltip or None, **({"force_input": True} if p.force_input else {})}
    if p.type == "COMBO":
        return io.Combo.Input(p.name, options=p.options(), **({} if p.default is None else {"default": p.default}),
                              **kw)
    simple = {"IMAGE": io.Image, "MASK": io.Mask}
    if p.type in simple:
        return simple[p.type].Input(p.name, **kw)
    if p.type == MODEL_TYPE:
        return io.Custom(MODEL_TYPE).Input(p.name, **kw)
    widget = {"INT": io.Int, "FLOAT": io.Float, "STRING": io.String, "BOOLEAN": io.Boolean}[p.type]
    extra = {k: v for k, v in (("default", p.default), ("min", p.min), ("max", p.max), ("step", p.step))
             if v is not None}
    if p.multiline:
        extra["multiline"] = True
    return widget.Input(p.name, **extra, **kw)


def _io_output(io, type_: str, name: str):
    cls = {"IMAGE": io.Image, "MASK": io.Mask, "STRING": io.String, "FLOAT": io.Float}.get(type_)
    return (cls or io.Custom(type_)).Output(id=name, display_name=name)


def comfy_node_class(spec: NodeSpec, io) -> type:
    """An ``io.ComfyNode`` subclass for ``spec`` (``io``: ``comfy_api.latest.io``)."""

    def define_schema(cls):
        return io.Schema(node_id=spec.node_id, display_name=spec.display_name, category=CATEGORY,
                         description=spec.description, is_output_node=spec.is_output_node,
                         inputs=[_io_input(io, p) for p in spec.inputs],
                         outputs=[_io_output(io, t, n) for t, n in spec.outputs])

    def execute(cls, **kw):
        out, ui = spec.call(**kw)
        return io.NodeOutput(*out, ui=ui)

    attrs = {"define_schema": classmethod(define_schema), "execute": classmethod(execute)}
    if spec.fingerprint is not None:
        attrs["fingerprint_inputs"] = classmethod(lambda cls, **kw: spec.fingerprint(**kw))
    return type(spec.node_id, (io.ComfyNode,), attrs)


NODE_CLASS_MAPPINGS = {s.node_id: legacy_class(s) for s in NODES}
NODE_DISPLAY_NAME_MAPPINGS = {s.node_id: s.display_name for s in NODES}
