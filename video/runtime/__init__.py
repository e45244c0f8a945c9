"""Inference pipelines: image-to-video (SVD); text-to-video follows the same loop."""
