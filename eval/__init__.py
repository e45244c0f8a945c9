"""Evaluation of generated videos: closed-form frame metrics (``metrics``), the Fréchet distance
(``frechet``) under FVD (``fvd``), CLIP-SIM (``clip_sim``), weight-free temporal scores
(``temporal``), reconstruction scores (``reconstruction``, ``lpips``), the runner behind
``video eval`` (``runner``, ``cli``), its outputs (``report``) and manifest helpers for the
dataset notebook (``dataset``)."""
