"""Our spacetime-patch diffusion transformer for text-to-video (Sora's recipe; the shapes of
Wan 2.1 and Open-Sora 2.0, the clarity of DiT's ``models.py``).

A video latent (B, C, T, H, W) is cut into (p_t, p_h, p_w) patches, one token each; blocks of
self-attention over all tokens (3D RoPE, QK-norm), cross-attention to the text, and an MLP,
modulated by the flow time through adaptive LayerNorm; a linear head turns each token back
into a patch of velocity. An image is a one-frame video.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from video.models.attention import attention
from video.models.rope import apply_rope, check_head_dim, rope_angles, rope_cos_sin


@dataclass
class DiTConfig:
    in_channels: int = 16
    out_channels: int = 16
    patch_size: list[int] = field(default_factory=lambda: [1, 2, 2])
    dim: int = 1536
    depth: int = 30
    heads: int = 12
    ffn_dim: int = 8960
    text_dim: int = 4096
    freq_dim: int = 256
    qk_norm: bool = True
    factorised: bool = False  # alternate spatial-only and temporal-only attention (Latte, Open-Sora 1.x)
    rope_theta: float = 10000.0
    eps: float = 1e-6


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal features of t (B,) -> (B, dim), cos first (DiT, Wan)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float64, device=t.device) / half)
    args = t.double()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1).float()


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class SelfAttention(nn.Module):
    # Memory layout of q, k, v for full attention: tokens-major (B, N, h, hd), as Wan lays them
    # out, or heads-major (B, h, N, hd). Same numbers either way (bit for bit on an H100).
    # Tokens-major is the default: neither the RoPE output nor the attention output is
    # transposed through memory, 0.529 s vs 0.533 s per compiled dit_l forward at 81 frames
    # (H100, bench/results_published/dit_levers_dit_l_h100.json).
    tokens_major: bool = True

    def __init__(self, dim: int, heads: int, qk_norm: bool, eps: float):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.norm_q = nn.RMSNorm(dim, eps=eps) if qk_norm else nn.Identity()
        self.norm_k = nn.RMSNorm(dim, eps=eps) if qk_norm else nn.Identity()
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor], grid: tuple[int, int, int],
                mode: str) -> torch.Tensor:
        """rope: (cos, sin) of the token grid's angles, from ``rope_cos_sin``."""
        b, n, d = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k = self.norm_q(q), self.norm_k(k)
        t, hh, ww = grid
        if mode == "full" and self.tokens_major:
            # (B, N, h, hd) in memory, handed to attention as transposed views, as Wan does
            q, k, v = (y.view(b, n, self.heads, d // self.heads) for y in (q, k, v))
            cos, sin = (r.unsqueeze(1) for r in rope)
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
            o = attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
            return self.out(o.transpose(1, 2).reshape(b, n, d))
        q, k, v = (y.view(b, n, self.heads, d // self.heads).transpose(1, 2) for y in (q, k, v))  # (B, h, N, hd)
        q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        if mode == "full":
            o = attention(q, k, v)
        else:  # group tokens so each sequence is one frame (spatial) or one pixel's frames (temporal)
            def group(y):
                y = y.reshape(b, self.heads, t, hh * ww, -1)
                if mode == "spatial":
                    return y.permute(0, 2, 1, 3, 4).reshape(b * t, self.heads, hh * ww, -1)
                return y.permute(0, 3, 1, 2, 4).reshape(b * hh * ww, self.heads, t, -1)

            o = attention(group(q), group(k), group(v))
            if mode == "spatial":
                o = o.reshape(b, t, self.heads, hh * ww, -1).permute(0, 2, 1, 3, 4)
            else:
                o = o.reshape(b, hh * ww, self.heads, t, -1).permute(0, 2, 3, 1, 4)
            o = o.reshape(b, self.heads, n, -1)
        return self.out(o.transpose(1, 2).reshape(b, n, d))


class CrossAttention(nn.Module):
    def __init__(self, dim: int, heads: int, qk_norm: bool, eps: float):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.norm_q = nn.RMSNorm(dim, eps=eps) if qk_norm else nn.Identity()
        self.norm_k = nn.RMSNorm(dim, eps=eps) if qk_norm else nn.Identity()
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        hd = d // self.heads
        q = self.norm_q(self.q(x)).view(b, n, self.heads, hd).transpose(1, 2)
        k, v = self.kv(context).chunk(2, dim=-1)
        k = self.norm_k(k).view(b, -1, self.heads, hd).transpose(1, 2)
        v = v.view(b, -1, self.heads, hd).transpose(1, 2)
        return self.out(attention(q, k, v).transpose(1, 2).reshape(b, n, d))


def feed_forward(mlp: nn.Sequential, x: torch.Tensor, fused_gelu: bool = False) -> torch.Tensor:
    """Linear, tanh-GELU, Linear. With ``fused_gelu``, in CUDA inference, the GELU runs in the
    first GEMM's epilogue (cuBLASLt, ``torch._addmm_activation``; inductor keeps it as one
    kernel): the (N, ffn_dim) hidden state is written once, not written, read and written
    again, ~1.2 GB per block at 81 frames 480x832. Same function up to bf16 rounding (the
    epilogue rounds once, after the GELU). Elsewhere (CPU, whose kernel is erf-GELU; training;
    a LoRA-wrapped layer) the plain modules run."""
    up, act, down = mlp
    if (fused_gelu and x.is_cuda and not torch.is_grad_enabled() and type(up) is nn.Linear
            and up.bias is not None and isinstance(act, nn.GELU) and act.approximate == "tanh"):
        h = torch._addmm_activation(up.bias, x.reshape(-1, x.shape[-1]), up.weight.t(), use_gelu=True)
        return down(h.view(*x.shape[:-1], h.shape[-1]))
    return mlp(x)


class DiTBlock(nn.Module):
    """adaLN-Zero block: x + g1 * attn(mod(norm x)); x + cross(norm x); x + g2 * mlp(mod(norm x))."""

    # GELU in the FFN's first GEMM (``feed_forward``): 0.524 s vs 0.533 s per compiled dit_l
    # forward at 81 frames on an H100, 0.518 s with tokens-major attention too (bench/dit_levers.py)
    fused_gelu: bool = True

    def __init__(self, cfg: DiTConfig, mode: str = "full"):
        super().__init__()
        d = cfg.dim
        self.mode = mode
        self.norm1 = nn.LayerNorm(d, elementwise_affine=False, eps=cfg.eps)
        self.self_attn = SelfAttention(d, cfg.heads, cfg.qk_norm, cfg.eps)
        self.norm2 = nn.LayerNorm(d, elementwise_affine=True, eps=cfg.eps)
        self.cross_attn = CrossAttention(d, cfg.heads, cfg.qk_norm, cfg.eps)
        self.norm3 = nn.LayerNorm(d, elementwise_affine=False, eps=cfg.eps)
        self.mlp = nn.Sequential(nn.Linear(d, cfg.ffn_dim), nn.GELU(approximate="tanh"), nn.Linear(cfg.ffn_dim, d))
        # Per-block offset added to the shared time modulation (Wan): 6*dim parameters per
        # block instead of DiT's 6*dim^2.
        self.modulation = nn.Parameter(torch.zeros(1, 6, d))

    def forward(self, x, mod, context, rope, grid):
        shift1, scale1, gate1, shift2, scale2, gate2 = (mod + self.modulation).unbind(1)
        x = x + gate1.unsqueeze(1) * self.self_attn(modulate(self.norm1(x), shift1, scale1), rope, grid, self.mode)
        x = x + self.cross_attn(self.norm2(x), context)
        return x + gate2.unsqueeze(1) * feed_forward(self.mlp, modulate(self.norm3(x), shift2, scale2), self.fused_gelu)


class DiT(nn.Module):
    def __init__(self, cfg: DiTConfig):
        super().__init__()
        if cfg.dim % cfg.heads:
            raise ValueError(f"dim {cfg.dim} is not divisible by heads {cfg.heads}")
        check_head_dim(cfg.dim // cfg.heads)  # now, not at the first forward
        self.config = cfg
        d, p = cfg.dim, tuple(cfg.patch_size)
        self.patch_embed = nn.Conv3d(cfg.in_channels, d, kernel_size=p, stride=p)
        self.text_embed = nn.Sequential(nn.Linear(cfg.text_dim, d), nn.GELU(approximate="tanh"), nn.Linear(d, d))
        self.time_embed = nn.Sequential(nn.Linear(cfg.freq_dim, d), nn.SiLU(), nn.Linear(d, d))
        self.time_proj = nn.Sequential(nn.SiLU(), nn.Linear(d, 6 * d))
        modes = ["spatial", "temporal"] if cfg.factorised else ["full"]
        self.blocks = nn.ModuleList(DiTBlock(cfg, modes[i % len(modes)]) for i in range(cfg.depth))
        self.norm_out = nn.LayerNorm(d, elementwise_affine=False, eps=cfg.eps)
        self.head_modulation = nn.Parameter(torch.zeros(1, 2, d))
        self.head = nn.Linear(d, math.prod(p) * cfg.out_channels)
        self.initialize_weights()

    def initialize_weights(self) -> None:
        """Xavier for linears; zero for everything that writes into the residual stream from a
        new branch (time modulation, cross-attention output, head) so every block starts as
        the identity and the model's first prediction is 0 (DiT's adaLN-Zero)."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        w = self.patch_embed.weight
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.normal_(self.time_embed[0].weight, std=0.02)
        nn.init.normal_(self.time_embed[2].weight, std=0.02)
        nn.init.zeros_(self.time_proj[1].weight)
        nn.init.zeros_(self.time_proj[1].bias)
        for blk in self.blocks:
            nn.init.zeros_(blk.cross_attn.out.weight)
            nn.init.zeros_(blk.cross_attn.out.bias)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def token_grid(self, shape: tuple[int, ...]) -> tuple[int, int, int]:
        pt, ph, pw = self.config.patch_size
        t, h, w = shape[-3:]
        if t % pt or h % ph or w % pw:
            raise ValueError(f"latent {t}x{h}x{w} is not a multiple of the patch {pt}x{ph}x{pw}")
        return t // pt, h // ph, w // pw

    def forward(self, x: torch.Tensor, t: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """x: (B, C, T, H, W) noisy latent; t: (B,) flow time in [0, 1]; context: (B, L, text_dim).
        Returns the velocity, shaped like x."""
        cfg = self.config
        b = x.shape[0]
        grid = self.token_grid(x.shape)
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2)                      # (B, N, D)
        e = self.time_embed(timestep_embedding(t * 1000, cfg.freq_dim).to(tokens.dtype))  # (B, D)
        mod = self.time_proj(e).view(b, 6, cfg.dim)                                   # (B, 6, D)
        ctx = self.text_embed(context.to(tokens.dtype))                               # (B, L, D)
        rope = rope_cos_sin(rope_angles(grid, cfg.dim // cfg.heads, cfg.rope_theta, device=x.device))
        for blk in self.blocks:
            tokens = blk(tokens, mod, ctx, rope, grid)
        shift, scale = (self.head_modulation + e.unsqueeze(1)).unbind(1)
        out = self.head(modulate(self.norm_out(tokens), shift, scale))               # (B, N, p*C)
        return self.unpatchify(out, grid)

    def unpatchify(self, out: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        """(B, N, pt*ph*pw*C) -> (B, C, T, H, W)."""
        pt, ph, pw = self.config.patch_size
        t, h, w = grid
        c = self.config.out_channels
        out = out.view(out.shape[0], t, h, w, pt, ph, pw, c)
        return out.permute(0, 7, 1, 4, 2, 5, 3, 6).reshape(out.shape[0], c, t * pt, h * ph, w * pw)

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) -> (B, N, pt*ph*pw*C): the exact inverse of ``unpatchify``."""
        pt, ph, pw = self.config.patch_size
        b, c = x.shape[:2]
        t, h, w = self.token_grid(x.shape)
        x = x.view(b, c, t, pt, h, ph, w, pw).permute(0, 2, 4, 6, 3, 5, 7, 1)
        return x.reshape(b, t * h * w, pt * ph * pw * c)

    def flops_per_forward(self, latent_shape: tuple[int, ...], text_len: int) -> int:
        """Matmul FLOPs of one forward (2 per multiply-add), for MFU figures."""
        cfg = self.config
        n = math.prod(self.token_grid(latent_shape))
        d, f, L = cfg.dim, cfg.ffn_dim, text_len
        seq = {"full": n, "spatial": n // self.token_grid(latent_shape)[0],
               "temporal": self.token_grid(latent_shape)[0]}
        total = 0
        for blk in self.blocks:
            total += 2 * n * d * 3 * d + 2 * n * d * d           # qkv, out
            total += 2 * 2 * n * seq[blk.mode] * d               # QK^T and AV
            total += 2 * n * d * d * 2 + 2 * L * d * 2 * d       # cross q, out; kv
            total += 2 * 2 * n * L * d                           # cross QK^T, AV
            total += 2 * 2 * n * d * f                           # mlp
        total += 2 * n * cfg.in_channels * math.prod(cfg.patch_size) * d   # patch embedding
        total += 2 * n * d * math.prod(cfg.patch_size) * cfg.out_channels  # head
        total += 2 * L * cfg.text_dim * d + 2 * L * d * d                   # text embedding
        total += 2 * cfg.freq_dim * d + 2 * d * d + 2 * d * 6 * d            # time embedding
        return total
