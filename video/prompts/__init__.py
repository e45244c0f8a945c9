"""The Stable-Diffusion prompt language (AUTOMATIC1111 web UI dialect).

=====================  ==========================================================
``(x)`` ``((x))``      weight x1.1 per level
``(x:w)``              weight w
``[x]``                weight /1.1 per level
``\\(`` ``\\)`` ...      literal brackets and backslash
``[a:b:t]``            a until step t, then b (t < 1: fraction of the steps)
``[x:t]`` ``[x::t]``   add x after t / remove x after t
``[a|b|c]``            alternate on successive steps
``a BREAK b``          b starts a new 75-token chunk
``a AND b:0.5``        composable diffusion terms with weights
``{`` ``}``            plain text, as in A1111 (not NovelAI's x1.05 nor ComfyUI's choice)
=====================  ==========================================================

Where we differ from AUTOMATIC1111, on purpose:

1. ``t < 1`` is a fraction of the steps, ``t >= 1`` a step number (A1111's newer default reads
   any number with a decimal point as a fraction).
2. Sampler step ``i`` uses prompt step ``i + 1``, so ``[a:b:3]`` gives exactly 3 steps of ``a``
   (A1111 renders 4, and its alternation starts ``a, a, b``). Every model evaluation of a step
   (Heun's two) uses that step's prompt: samplers pass the step index, never a time to look up.
3. A stray ``|`` or a trailing ``\\`` is plain text (in A1111 either makes the whole prompt
   verbatim, schedules and all; its own ``[{b|d{:.5]`` doctest expects our behaviour). So is a
   run of two or more stray ``[]():`` after a bracket (``a [cat:dog:5])) b``): A1111's parser
   gives up and reads the prompt verbatim; we schedule it and keep the strays as text.
4. ``(x:1.2.3)`` does not raise: the colon part stays literal and ``)`` closes with x1.1.
5. ``BREAK`` inside brackets stays a break (A1111 turns it into a weight of -1.1).
6. Empty runs are dropped; brackets nested over 100 deep make the prompt verbatim.
7. Textual-inversion names: with CLIP, A1111's rule (the name's token ids inside a run's ids,
   so ``mystyle2`` contains ``mystyle``); with T5, whole words ignoring case (A1111 has no T5).
8. The mean is restored per 75-token chunk (per real token for T5), not over the batch.
9. A prompt and its negative of different lengths are padded with empty-prompt chunks (A1111's
   "pad prompt/negative prompt to be same length" option; without it A1111 runs them apart).
10. T5/UMT5: the prompt is cleaned and tokenized in one call as diffusers' ``WanPipeline`` does
    (brackets removed, each token weighted by its characters); ``BREAK`` is a space; prompts
    past 511 tokens are truncated with a warning.
"""

# The parser and the schedule import no torch: here at once (``schedule`` is also its module's
# name, which importing the module binds here: the function must be bound after it).
from video.lazy import lazy_attributes
from video.prompts.emphasis import Segment, parse_segments, parse_weights
from video.prompts.schedule import schedule, text_at_step

# The rest is imported on first use (PEP 562): composable, conditioning, embeddings and encode
# import torch (two seconds and more), and ``video --help`` or a mistyped flag builds the parser,
# which imports this package for ``video prompt`` (:mod:`video.prompts.cli`) and needs no torch.
_HOME = {
    "composable_cfg": "composable", "split_and": "composable",
    "PromptConditioning": "conditioning", "StepConditioning": "conditioning",
    "load_embedding_file": "embeddings", "load_embeddings": "embeddings",
    "PromptEncoder": "encode", "apply_weights_a1111": "encode", "apply_weights_comfy": "encode",
    "format_prompt_report": "report",
}


__getattr__, __dir__ = lazy_attributes(__name__, _HOME, globals())

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
