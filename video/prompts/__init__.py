"""The Stable-Diffusion prompt language (AUTOMATIC1111 web UI dialect, plus NovelAI ``{}``).

=====================  ==========================================================
``(x)`` ``((x))``      weight x1.1 per level
``(x:w)``              weight w
``[x]``                weight /1.1 per level
``{x}``                weight x1.05 per level
``\\(`` ``\\)`` ...      literal brackets and backslash
``[a:b:t]``            a until step t, then b (t < 1: fraction of the steps)
``[x:t]`` ``[x::t]``   add x after t / remove x after t
``[a|b|c]``            alternate on successive steps
``a BREAK b``          b starts a new 75-token chunk
``a AND b:0.5``        composable diffusion terms with weights
=====================  ==========================================================
"""

from video.prompts.composable import composable_cfg, split_and
from video.prompts.conditioning import PromptConditioning, StepConditioning
from video.prompts.embeddings import load_embedding_file, load_embeddings
from video.prompts.emphasis import Segment, parse_segments, parse_weights
from video.prompts.encode import PromptEncoder, apply_weights_a1111, apply_weights_comfy
from video.prompts.report import format_prompt_report
from video.prompts.schedule import schedule, text_at_step

__all__ = [
    "parse_weights",
    "parse_segments",
    "Segment",
    "schedule",
    "text_at_step",
    "split_and",
    "composable_cfg",
    "PromptEncoder",
    "PromptConditioning",
    "StepConditioning",
    "apply_weights_a1111",
    "apply_weights_comfy",
    "load_embeddings",
    "load_embedding_file",
    "format_prompt_report",
]
