"""The schemas of the ``video img2vid`` and ``video txt2vid`` runs (:class:`Img2VidConfig`,
:class:`Txt2VidConfig`), each with its flags (flag -> schema key and help) and the least value
a set number may take (what a type alone cannot check). Every option of those subcommands is
a key of its schema: a flag, a line of a ``--config`` YAML and a ``key=value`` set the same
thing (:mod:`video.flags`). Apart from :mod:`video.cli` so that what a run can be told is read
in one place, as a training run's is in :mod:`video.training.config`. Standard library only:
``video edit`` reuses the models-folder flags without importing the command.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The attention kernels ``--sdpa`` may put first (:func:`video.runtime.speed.sdpa_priority`); here,
# not beside that function, because every command's parser names them and must not load torch.
SDPA_FIRST = ("torch", "cudnn", "flash", "efficient")  # "torch": its own choice (version and GPU)


@dataclass
class Img2VidConfig:
    model: str = "tiny"
    image: str = ""  # empty: the bundled photograph
    output: str = "img2vid.mp4"
    model_config: str = ""  # sampling defaults by name (svd, svd_xt) or YAML path; empty: from the checkpoint
    # None (unset, or ``null`` in YAML / ``key=null``): the model's default; a set value out of range
    # (0 included: it is not a second spelling of "unset") is refused before the weights load
    frames: int | None = None  # the model's: 14 SVD, 25 SVD-XT
    steps: int | None = None
    fps: int | None = None
    motion_bucket: int | None = None
    noise_aug: float | None = None
    min_cfg: float | None = None
    max_cfg: float | None = None
    height: int | None = None
    width: int | None = None
    seed: int = 0
    sampler: str = ""
    decode_chunk: int = 0  # 0: as many frames as fit memory_budget_gib (and free memory)
    decode_overlap: int = 2
    memory_budget_gib: float = 10.0  # decode windows sized to keep the peak within this (CPU: the decode's); 0: free memory
    offload: str = "none"  # none | model (only the part in use on the GPU; nothing on a CPU)
    # auto | on | off: the guidance halves one after the other (half the UNet's peak). A tri-state key
    # is ``str | bool``: YAML reads an unquoted on / off as True / False, which a text key refused;
    # every route reads it by one rule (video.flags.tristate: on / off, yes / no, true / false, 1 / 0)
    split_guidance: str | bool = "auto"
    cache_threshold: float = 0.0  # > 0: First-Block-Cache fast mode (inexact); 0: exact
    compile: str = ""  # "": eager; else a torch.compile mode for the repeated blocks (default, reduce-overhead, ...)
    compile_cache: str = ""  # folder (or "auto") to save/load compiled artifacts for warm starts
    sdpa: str = "torch"  # attention kernel tried first: torch (its own choice), cudnn, flash, efficient
    device: str = "auto"
    dtype: str = "auto"  # auto: float16 on CUDA, float32 on CPU
    variant: str = ""
    crf: int = 18
    lora: list[str] = field(default_factory=list)  # FILE or FILE:SCALE (peft or kohya keys)
    models_dir: str = ""  # empty: $VIDEO_MODELS, else ./models
    extra_model_paths_config: str = ""  # a ComfyUI extra_model_paths.yaml, read after the default one


IMG2VID_FLAGS = {
    # flag: (schema key, help)
    "--model": ("model", "diffusers folder, svd*.safetensors file, a name in the models folder, or 'tiny' / "
                         "'tiny-svd' (random weights, a smoke run); default tiny. svd / svd_xt: your "
                         "svd_xt.safetensors at the top of the models folder if there, else the full-size random "
                         "network; builtin:svd_xt is always the built-in"),
    "--image": ("image", "conditioning image (any size: resized and centre-cropped); default: bundled photo"),
    "--output": ("output", 'output file: .mp4 (H.264), .webm, .gif, a folder for PNG frames, or one image (.png, '
                           '.jpg, .webp) for a one-frame result (--frames 1); default img2vid.mp4'),
    "--model-config": ("model_config", "sampling defaults by name (svd, svd_xt) or YAML path (default: none, "
                                       "the checkpoint's own)"),
    "--frames": ("frames", "number of frames, >= 1 (default: the model's, 14 SVD / 25 SVD-XT)"),
    "--steps": ("steps", "sampling steps, >= 1 (default: the model's, 25 for SVD)"),
    "--fps": ("fps", "frames per second: conditioning (as fps-1) and the output's rate, a whole number >= 1 "
                     "(default: the model's: 7 for SVD; for a model video train exported, its data.fps rounded)"),
    "--motion-bucket": ("motion_bucket", "motion bucket id, higher = more motion, >= 0 (default: the model's, "
                                         "127 for SVD)"),
    "--noise-aug": ("noise_aug", "noise added to the conditioning image, >= 0 (default: the model's, 0.02 for "
                                 "SVD)"),
    "--min-cfg": ("min_cfg", "guidance scale of the first frame, >= 0 (default: the model's, 1 SVD / 1.5 SVD-XT)"),
    "--max-cfg": ("max_cfg", "guidance scale of the last frame, >= 0 (default: the model's, 2.5 SVD / 3 SVD-XT); the "
                             "scale grows linearly from --min-cfg, and with both <= 1 the unconditional branch is "
                             "skipped entirely (no guidance, one UNet pass per step, as diffusers does)"),
    "--height": ("height", "output height, a multiple of the model's size step (64 for SVD; otherwise rounded "
                           "down to one, never below one step); default: the model's (576 for SVD)"),
    "--width": ("width", "output width, a multiple of the model's size step (64 for SVD; otherwise rounded down to "
                         "one, never below one step); default: the model's (1024 for SVD)"),
    "--seed": ("seed", "random seed; -1: a random one, printed so the render can be repeated (default 0)"),
    "--sampler": ("sampler", "euler (default), heun or dpmpp_2m"),
    "--decode-chunk": ("decode_chunk", "frames per VAE decode window, or 0 = automatic: as many as fit "
                                       "--memory-budget and free memory (default 0). The window changes the frames: "
                                       "a larger window is more temporally consistent; set --decode-chunk N for "
                                       "frames reproducible across machines"),
    "--decode-overlap": ("decode_overlap", "frames shared by neighbouring decode windows (default 2)"),
    "--memory-budget": ("memory_budget_gib", "GiB the automatic decode windows are sized to stay within, >= 0 "
                                             "(CUDA: all allocated memory; CPU: the decode's own, also kept within "
                                             "free RAM; 0: the free memory); default 10. It sets the window, which "
                                             "changes the frames: a larger window is more temporally consistent; set "
                                             "--decode-chunk N for frames reproducible across machines"),
    "--offload": ("offload", "none (default), or model: keep only the network in use on the GPU (low memory, slower; "
                             "on a CPU it does nothing)"),
    "--split-guidance": ("split_guidance", "auto (default: on CUDA when the guided batch of two would pass "
                                           "--memory-budget), on or off: run the UNet's unconditional and "
                                           "conditional halves one after the other (half the activation peak)"),
    "--cache-threshold": ("cache_threshold", "fast mode: skip UNet work while the first block changes less than "
                                             "this (e.g. 0.05; inexact); 0 = exact (default)"),
    "--compile": ("compile", "compile the repeated blocks in this torch.compile mode: default, reduce-overhead "
                             "(CUDA graphs), max-autotune-no-cudagraphs or max-autotune (default: none, eager)"),
    "--compile-cache": ("compile_cache", "folder (or 'auto') where compiled artifacts are saved and reused"),
    "--sdpa": ("sdpa", "attention kernel tried first on CUDA: torch (torch's own choice, which depends on the "
                       "torch version and GPU: torch 2.11 on an H100 picked cuDNN), cudnn (cuDNN fused attention), "
                       "flash or efficient; same maths"),
    "--device": ("device", 'cuda, cuda:N, cpu, mps or auto (default auto: CUDA when present)'),
    "--dtype": ("dtype", 'float16, bfloat16, float32, or auto (default auto: float16 on CUDA, float32 on CPU)'),
    "--variant": ("variant", "diffusers weight variant, e.g. fp16 (auto-detected)"),
    "--crf": ("crf", "video quality on x264's scale 0 (best) .. 51 (worst); a .webm maps it onto VP9's (default 18)"),
    "--lora": ("lora", "LoRA .safetensors (peft or kohya keys) as FILE or FILE:SCALE; repeatable"),
    "--models-dir": ("models_dir", "models folder for names (default: $VIDEO_MODELS, else ./models)"),
    "--extra-model-paths-config": ("extra_model_paths_config", "a ComfyUI extra_model_paths.yaml to search too "
                                   "(ComfyUI's flag; the one in or beside the models folder is always read)"),
}


IMG2VID_MINIMUM = {"frames": 1, "steps": 1, "fps": 1, "height": 1, "width": 1, "motion_bucket": 0, "noise_aug": 0,
                   "min_cfg": 0, "max_cfg": 0, "decode_overlap": 0}


@dataclass
class Txt2VidConfig:
    model: str = "tiny"
    prompt: str = "a red kite over a green hill"
    negative: str = ""  # unset: the model's default negative prompt; given empty (--negative ""): none
    output: str = "txt2vid.mp4"
    # None (unset, or ``null``): the model's default; a set value out of range (0 included) is refused
    frames: int | None = None
    steps: int | None = None
    guidance: float | None = None  # None: the model's; any finite number (below 0 steers away from the prompt)
    guidance_2: float | None = None  # Wan 2.2 two experts: the low-noise expert's scale (None: --guidance's)
    shift: float | None = None  # None: the model config's, else by token count; a set value must be > 0
    height: int | None = None
    width: int | None = None
    fps: int | None = None  # None: the model's; a set value must be >= 1
    seed: int = 0
    sampler: str = ""
    embeddings: str = ""  # folder of textual-inversion embeddings
    device: str = "auto"
    dtype: str = "auto"  # auto: bfloat16 on CUDA, float32 on CPU
    crf: int = 18
    lora: list[str] = field(default_factory=list)  # FILE or FILE:SCALE (peft or kohya keys)
    models_dir: str = ""  # empty: $VIDEO_MODELS, else ./models
    extra_model_paths_config: str = ""  # a ComfyUI extra_model_paths.yaml, read after the default one
    compile: str = ""  # "": eager; else a torch.compile mode for the transformer's blocks
    compile_cache: str = ""  # folder (or "auto") to save/load compiled artifacts for warm starts
    sdpa: str = "torch"  # attention kernel tried first: torch (its own choice), cudnn, flash, efficient
    # auto | on | off: Wan's video VAE in tiles (auto: only when whole frames do not fit); a tri-state
    # key, ``str | bool`` as split_guidance is, so YAML's unquoted ``vae_tiling: on`` is on
    vae_tiling: str | bool = "auto"


TXT2VID_FLAGS = {
    "--model": ("model", "our model folder, a diffusers Wan T2V folder (Wan 2.1, or Wan 2.2's two experts), a name "
                         "in the models folder, or 'tiny' (random weights, a smoke run; builtin:tiny says the same); "
                         "default tiny"),
    "--prompt": ("prompt", "the prompt, in the prompt language: (word:1.2), [a:b:0.5], [a|b], AND, BREAK (default: 'a "
                           "red kite over a green hill')"),
    "--negative": ("negative", "negative prompt (default: the model's)"),
    "--output": ("output", 'output file: .mp4, .webm, .gif, a folder for PNG frames, or one image (.png, .jpg, '
                           '.webp) for a one-frame result (--frames 1); default txt2vid.mp4'),
    "--frames": ("frames", "number of frames, >= 1 (4k+1 for a video VAE such as Wan's; 1 renders an image); "
                           "default: the model's"),
    "--steps": ("steps", "sampling steps, >= 1 (default: the model's)"),
    "--guidance": ("guidance", "classifier-free guidance scale, any finite number (default: the model's); between 0 "
                               "and 1 it mixes in the negative prompt (A1111, ComfyUI), where diffusers' WanPipeline "
                               "turns guidance off at <= 1"),
    "--guidance-2": ("guidance_2", "Wan 2.2 two-expert folders: the low-noise expert's guidance scale "
                                   "(default: the same as --guidance)"),
    "--shift": ("shift", "flow time shift, > 0 (1: none; default: the model's, else from the token count)"),
    "--height": ("height", 'output height in pixels (a multiple of the VAE factor times the patch size); default: the '
                           "model's"),
    "--width": ("width", "output width in pixels (a multiple of the VAE factor times the patch size); default: the "
                         "model's"),
    "--fps": ("fps", "frames per second of the output file, a whole number >= 1 (default: the model's)"),
    "--seed": ("seed", "random seed; -1: a random one, printed so the render can be repeated (default 0)"),
    "--sampler": ("sampler", "euler (default) or heun"),
    "--vae-tiling": ("vae_tiling", "auto (default: tiles only where whole frames would not fit in free GPU "
                                   "memory), on or off: decode Wan's video VAE in tiles"),
    "--embeddings": ("embeddings", 'folder of textual-inversion embeddings, named in prompts by file name (default: '
                                   'none)'),
    "--device": ("device", 'cuda, cuda:N, cpu, mps or auto (default auto: CUDA when present)'),
    "--dtype": ("dtype", 'bfloat16, float16, float32, or auto (default auto: bfloat16 on CUDA, float32 on CPU)'),
    "--crf": ("crf", "video quality on x264's scale 0 (best) .. 51 (worst); a .webm maps it onto VP9's (default 18)"),
    "--compile": ("compile", "compile the transformer's blocks in this torch.compile mode: default, "
                             "reduce-overhead (CUDA graphs), max-autotune-no-cudagraphs or max-autotune "
                             "(default: none, eager)"),
    "--compile-cache": ("compile_cache", "folder (or 'auto') where compiled artifacts are saved and reused"),
    "--sdpa": ("sdpa", "attention kernel tried first on CUDA: torch (torch's own choice, which depends on the "
                       "torch version and GPU: torch 2.11 on an H100 picked cuDNN), cudnn (cuDNN fused attention), "
                       "flash or efficient; same maths"),
    "--lora": ("lora", "LoRA .safetensors (peft or kohya keys) as FILE or FILE:SCALE; repeatable"),
    "--models-dir": ("models_dir", "models folder for names (default: $VIDEO_MODELS, else ./models)"),
    "--extra-model-paths-config": ("extra_model_paths_config", "a ComfyUI extra_model_paths.yaml to search too "
                                   "(ComfyUI's flag; the one in or beside the models folder is always read)"),
}


TXT2VID_MINIMUM = {"frames": 1, "steps": 1, "height": 1, "width": 1, "fps": 1}
