"""The errors a user can fix, in a module that imports nothing heavy: argument checks, every
``--help``, the CLI's one-line error handler and the model-folder scan raise or catch them
without loading torch or diffusers. Callers keep importing them from their old homes as well
(``InputError`` from :mod:`video.runtime.img2vid`, ``CheckpointError`` from
:mod:`video.models.svd`)."""


class InputError(ValueError):
    """Arguments a user can fix (sizes, frame counts, sampler names)."""


class CheckpointError(ValueError):
    """A model path that is missing or not a checkpoint we can read."""
