"""ComfyUI custom nodes for this project: load a model from the models folder (and stack LoRAs on
it), image-to-video, text-to-video, inpaint/edit with a mask, upscale, animate a character
(Wan-Animate), write a video file (our mp4 settings, at the rate the sampling node returns),
curate a folder of clips.

Install, from this checkout with ComfyUI's Python (the extras: what Upscale Video and Curate
Clips run on; without them those two nodes say which to install)::

    pip install -e ".[edit,curate]" && ln -s "$PWD/video/comfy" /path/to/ComfyUI/custom_nodes/video_pipeline

ComfyUI then loads the nodes through ``comfy_entrypoint`` (its current node API) or, on
installs without ``comfy_api.latest``, through ``NODE_CLASS_MAPPINGS``. Models come from
ComfyUI's own ``models/`` folder, its extra_model_paths.yaml files and every folder its
``folder_paths`` lists.
``examples/comfy_workflow.json`` is a workflow in ComfyUI's API format.

Importing this package never needs ComfyUI; ``comfy_api`` is imported when ComfyUI calls
:func:`comfy_entrypoint`.
"""

from __future__ import annotations

import importlib.util

from video.comfy import nodes as _nodes
from video.comfy.nodes import NODES, comfy_node_class


def has_current_api() -> bool:
    """Whether ComfyUI's ``comfy_api.latest`` is importable (looked up only where a ``comfy_api``
    package exists, so nothing is imported outside ComfyUI)."""
    if importlib.util.find_spec("comfy_api") is None:
        return False
    try:
        from comfy_api.latest import ComfyExtension, io  # noqa: F401
    except ImportError:
        return False
    return True


# ComfyUI's loader (nodes.py, load_custom_node) takes NODE_CLASS_MAPPINGS when it is not None and
# then ignores comfy_entrypoint: leave it None where the current API exists, so that one is used.
NODE_CLASS_MAPPINGS = None if has_current_api() else _nodes.NODE_CLASS_MAPPINGS
NODE_DISPLAY_NAME_MAPPINGS = None if NODE_CLASS_MAPPINGS is None else _nodes.NODE_DISPLAY_NAME_MAPPINGS


def node_list() -> list[type]:
    """The ``io.ComfyNode`` classes; raises ImportError outside ComfyUI."""
    from comfy_api.latest import io

    return [comfy_node_class(s, io) for s in NODES]


async def comfy_entrypoint():
    """ComfyUI's hook for extensions written against ``comfy_api.latest``."""
    from comfy_api.latest import ComfyExtension

    class VideoPipelineExtension(ComfyExtension):
        async def get_node_list(self) -> list[type]:
            return node_list()

    return VideoPipelineExtension()


__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "comfy_entrypoint"]
