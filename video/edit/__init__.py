"""Video editing: masked regeneration (:mod:`video.edit.regenerate`) with any model we run,
its masks (:mod:`video.edit.mask`) and recipes (:mod:`video.edit.recipes`: inpaint, outpaint,
background, recolour, restyle), behind ``Editor`` (:mod:`video.edit.editor`). VACE, Animate
and upscaling live in their own modules and are imported only when used."""

from video.edit.editor import Editor
from video.edit.mask import Box, load_mask, parse_box
from video.edit.recipes import background, inpaint, outpaint, recolour, restyle

__all__ = ["Box", "Editor", "background", "inpaint", "load_mask", "outpaint", "parse_box", "recolour", "restyle"]
