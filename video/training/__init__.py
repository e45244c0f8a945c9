"""Staged training: image pretraining -> video pretraining -> high-quality finetuning (the
Stable Video Diffusion recipe), for the SVD UNet and our DiT, single process or torchrun."""
