"""Diffusion maths shared by the runtime, the trainer and the tests: pure functions, no weights."""

from video.diffusion.edm import (
    VScaling,
    c_noise,
    initial_noise_scale,
    karras_sigmas,
    scalings,
)
from video.diffusion.guidance import FramewiseLinearCFG
from video.diffusion.samplers import SAMPLERS, sample

__all__ = [
    "SAMPLERS",
    "FramewiseLinearCFG",
    "VScaling",
    "c_noise",
    "initial_noise_scale",
    "karras_sigmas",
    "sample",
    "scalings",
]
