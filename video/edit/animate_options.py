"""Wan-Animate's settings that a command line names before any model loads: the modes, the
defaults and the size step. Apart from :mod:`video.edit.animate` because that module imports
torch and diffusers, and ``video --help`` builds ``video animate``'s parser from these.
"""

DEFAULT_STEPS = 20  # WanAnimatePipeline's default
FALLBACK_FPS = 30.0  # the clip rate when the pose video tells none (a folder of frames): the CLI's and ComfyUI's
DEFAULT_SEGMENT = 77  # frames per segment (WanAnimatePipeline's default)
MODES = ("animate", "replace")
SIZE_STEP = 16  # output sides are multiples of this: Wan's VAE (8x) times the 2x2 patch, in every Wan-Animate folder
TINY = "tiny"  # built-in Wan-Animate with random weights at toy size: a smoke run, as ``tiny`` elsewhere
