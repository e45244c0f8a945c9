"""The runtime's one error type for what a user can fix, in a module that imports nothing heavy:
argument checks, ``--help`` and the upscale and ComfyUI front ends raise it without loading
torch or diffusers. Callers keep importing it from :mod:`video.runtime.img2vid` as well."""


class InputError(ValueError):
    """Arguments a user can fix (sizes, frame counts, sampler names)."""
