"""Video editing: masked regeneration (:mod:`video.edit.regenerate`) with any model we run,
its masks (:mod:`video.edit.mask`) and recipes (:mod:`video.edit.recipes`: inpaint, outpaint,
background, recolour, restyle), behind ``Editor`` (:mod:`video.edit.editor`). VACE, Animate
and upscaling live in their own modules and are imported only when used."""

from video.lazy import lazy_attributes

# Imported on first use: the editor and masks import torch, and ``video --help`` builds the edit
# command's parser from :mod:`video.edit.cli`, which imports this package and needs none.
_HOME = {
    "Editor": "editor", "Box": "mask", "load_mask": "mask", "parse_box": "mask",
    "background": "recipes", "inpaint": "recipes", "outpaint": "recipes", "recolour": "recipes",
    "restyle": "recipes",
}
__getattr__, __dir__ = lazy_attributes(__name__, _HOME, globals())

__all__ = ["Box", "Editor", "background", "inpaint", "load_mask", "outpaint", "parse_box", "recolour", "restyle"]
