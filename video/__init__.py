"""video-pipeline: curate footage, train video diffusion models in stages, render clips.

``from video import ImageToVideo, TextToVideo`` are resolved lazily so that ``import video`` (and the CLI's
``--help``) stays fast and never imports diffusers until a model is needed.
"""

__version__ = "0.1.0"

__all__ = ["ImageToVideo", "TextToVideo", "__version__"]


def __getattr__(name: str):
    if name == "ImageToVideo":
        from video.runtime.img2vid import ImageToVideo

        return ImageToVideo
    if name == "TextToVideo":
        from video.runtime.txt2vid import TextToVideo

        return TextToVideo
    raise AttributeError(f"module 'video' has no attribute {name!r}")
