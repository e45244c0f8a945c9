"""video-pipeline: curate footage, train video diffusion models in stages, render clips.

``from video import ImageToVideo, TextToVideo`` are resolved lazily so that ``import video`` (and the CLI's
``--help``) stays fast and never imports diffusers until a model is needed.
"""

__version__ = "0.1.0"

__all__ = ["ImageToVideo", "TextToVideo", "__version__"]

from video.lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(
    __name__, {"ImageToVideo": "runtime.img2vid", "TextToVideo": "runtime.txt2vid"}, globals()
)
