import pytest
import torch

from video.config import CONFIG_DIR, load_config
from video.models.attention import attention, set_attention_backend
from video.models.dit import DiT, DiTConfig
from video.models.rope import apply_rope, rope_angles, rope_cos_sin


def tiny(**kw) -> DiT:
    cfg = load_config(DiTConfig, CONFIG_DIR / "model" / "dit_tiny.yaml", [f"{k}={v}" for k, v in kw.items()])
    torch.manual_seed(0)
    return DiT(cfg).eval()


def randomise_zero_inits(m: DiT) -> DiT:
    """Give the zero-initialised branches weights, as training would."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in [m.time_proj[1].weight, m.head.weight, m.head_modulation,
                  *[b.modulation for b in m.blocks], *[b.cross_attn.out.weight for b in m.blocks]]:
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    return m


def test_patchify_round_trip():
    m = tiny(patch_size="[1,2,2]")
    x = torch.randn(2, 4, 3, 6, 10)
    tokens = m.patchify(x)
    assert tokens.shape == (2, 3 * 3 * 5, 4 * 4)
    assert torch.equal(m.unpatchify(tokens, m.token_grid(x.shape)), x)
    m2 = tiny(patch_size="[2,2,2]")
    x2 = torch.randn(1, 4, 4, 4, 4)
    assert torch.equal(m2.unpatchify(m2.patchify(x2), m2.token_grid(x2.shape)), x2)


def test_rope_attention_depends_only_on_relative_position():
    grid, hd = (3, 4, 5), 12
    q, k, v = (torch.randn(1, 2, 60, hd, dtype=torch.float64) for _ in range(3))
    a0, a1 = rope_angles(grid, hd), rope_angles(grid, hd, offset=(7, 3, 11))
    r0, r1 = rope_cos_sin(a0, torch.float64), rope_cos_sin(a1, torch.float64)
    out0 = attention(apply_rope(q, *r0), apply_rope(k, *r0), v)
    out1 = attention(apply_rope(q, *r1), apply_rope(k, *r1), v)
    assert torch.allclose(out0, out1, atol=1e-6)
    # ...and it does depend on position: permuting the key positions changes the result.
    perm = torch.randperm(60, generator=torch.Generator().manual_seed(0))
    out2 = attention(apply_rope(q, *r0), apply_rope(k, *rope_cos_sin(a0[perm], torch.float64)), v)
    assert not torch.allclose(out0, out2, atol=1e-3)


def test_zero_init_blocks_are_the_skip_path():
    m = tiny()
    x = torch.randn(2, 4, 3, 8, 12)
    t, ctx = torch.rand(2), torch.randn(2, 5, 32)
    with torch.no_grad():
        assert torch.equal(m(x, t, ctx), torch.zeros_like(x))
        tokens = m.patch_embed(x).flatten(2).transpose(1, 2)
        e = m.time_embed(torch.randn(2, m.config.freq_dim))
        mod = m.time_proj(e).view(2, 6, -1)
        grid = m.token_grid(x.shape)
        rope = rope_cos_sin(rope_angles(grid, m.config.dim // m.config.heads))
        for blk in m.blocks:
            assert torch.equal(blk(tokens, mod, m.text_embed(ctx), rope, grid), tokens)
        randomise_zero_inits(m)
        assert not torch.allclose(m(x, t, ctx), torch.zeros_like(x))


@pytest.mark.parametrize("shape", [(1, 4, 1, 8, 8), (1, 4, 5, 6, 14), (2, 4, 2, 16, 4)])
def test_any_frame_count_and_size(shape):
    m = randomise_zero_inits(tiny())
    with torch.no_grad():
        out = m(torch.randn(shape), torch.rand(shape[0]), torch.randn(shape[0], 7, 32))
    assert out.shape == shape and torch.isfinite(out).all()
    with pytest.raises(ValueError, match="multiple of the patch"):
        m(torch.randn(1, 4, 1, 7, 8), torch.rand(1), torch.randn(1, 3, 32))


def test_factorised_blocks_attend_within_frame_then_within_pixel():
    m = randomise_zero_inits(tiny(factorised="true"))
    spatial, temporal = m.blocks[0].self_attn, m.blocks[1].self_attn
    assert (m.blocks[0].mode, m.blocks[1].mode) == ("spatial", "temporal")
    grid = (3, 2, 2)
    rope = rope_cos_sin(rope_angles(grid, m.config.dim // m.config.heads))
    x = torch.randn(1, 12, m.config.dim)
    y = x.clone()
    y[:, 4:8] += 1.0  # change frame 1 only
    with torch.no_grad():
        a, b = spatial(x, rope, grid, "spatial"), spatial(y, rope, grid, "spatial")
        assert torch.allclose(a[:, :4], b[:, :4]) and not torch.allclose(a[:, 4:8], b[:, 4:8])
        z = x.clone()
        z[:, [1, 5, 9]] += 1.0  # change pixel 1 in every frame
        a, c = temporal(x, rope, grid, "temporal"), temporal(z, rope, grid, "temporal")
        untouched = [i for i in range(12) if i % 4 != 1]
        assert torch.allclose(a[:, untouched], c[:, untouched], atol=1e-6)
        assert not torch.allclose(a[:, [1, 5, 9]], c[:, [1, 5, 9]])


@pytest.mark.parametrize("factorised", ["false", "true"])
def test_flop_count_matches_torch_flop_counter(factorised):
    """torch's FlopCounterMode is the independent count; attention runs as explicit matmuls
    (the ``math`` backend) because the counter does not see the CPU SDPA kernel."""
    from torch.utils.flop_counter import FlopCounterMode

    m = randomise_zero_inits(tiny(factorised=factorised))
    shape, text_len = (1, 4, 3, 8, 12), 5
    x, t, ctx = torch.randn(shape), torch.rand(1), torch.randn(1, text_len, 32)
    with torch.no_grad():
        ref = m(x, t, ctx)
        set_attention_backend("math")
        try:
            with FlopCounterMode(display=False) as fc:
                out = m(x, t, ctx)
        finally:
            set_attention_backend("sdpa")
    assert torch.allclose(out, ref, atol=1e-5)
    assert m.flops_per_forward(shape, text_len) == fc.get_total_flops()


def test_sizes_of_the_configs():
    counts = {}
    for s in ("s", "b", "l"):
        with torch.device("meta"):
            m = DiT(load_config(DiTConfig, CONFIG_DIR / "model" / f"dit_{s}.yaml"))
        counts[s] = sum(p.numel() for p in m.parameters())
    assert counts["s"] < counts["b"] < counts["l"]
    assert 1.35e9 < counts["l"] < 1.45e9  # Wan 2.1 1.3B's size class


def test_rope_is_the_complex_rotation():
    """Closed form: pair (x_2i, x_2i+1) as a complex number times exp(i * angle)."""
    grid, hd = (2, 3, 4), 12
    x = torch.randn(2, 3, 24, hd, dtype=torch.float64)
    angles = rope_angles(grid, hd, offset=(5, 1, 2))
    ref = torch.view_as_real(torch.view_as_complex(x.unflatten(-1, (-1, 2)).contiguous()) * torch.polar(torch.ones_like(angles), angles)).flatten(-2)
    assert torch.allclose(apply_rope(x, *rope_cos_sin(angles, torch.float64)), ref, atol=1e-12)
    # bf16 input is rotated in float32 and cast back: one bf16 rounding away from the exact answer.
    out = apply_rope(x.to(torch.bfloat16), *rope_cos_sin(angles))
    assert out.dtype == torch.bfloat16
    assert torch.allclose(out.double(), ref, atol=0.05, rtol=0.02)


def test_head_sizes_rope_cannot_split_are_refused_at_construction():
    """3D RoPE rotates channel pairs, one group per axis: an odd head size or one under 6
    cannot be split. Those are refused when the DiT is built (one line), and every head size
    that is accepted runs a forward."""
    x, t, ctx = torch.randn(1, 4, 2, 4, 4), torch.tensor([0.5]), torch.randn(1, 3, 32)
    for hd in range(1, 15):
        grid = (2, 2, 2)
        try:  # the reference: does RoPE itself work at this head size?
            q = torch.randn(1, 1, 8, hd)
            apply_rope(q, *rope_cos_sin(rope_angles(grid, hd)))
            rope_ok = True
        except (ValueError, RuntimeError):
            rope_ok = False
        assert rope_ok == (hd >= 6 and hd % 2 == 0), hd
        if rope_ok:
            assert tiny(dim=2 * hd, heads=2)(x, t, ctx).shape == x.shape
        else:
            with pytest.raises(ValueError, match="even head size of at least 6") as e:
                tiny(dim=2 * hd, heads=2)
            assert "\n" not in str(e.value)


def test_tokens_major_layout_gives_the_same_output(monkeypatch):
    """The layout switch is exact: only where q, k, v live in memory changes."""
    from video.models.dit import SelfAttention

    assert SelfAttention.tokens_major  # the default since the H100 run (bench/dit_levers.py)
    m = randomise_zero_inits(tiny())
    x, t, ctx = torch.randn(2, 4, 3, 8, 12), torch.rand(2), torch.randn(2, 5, 32)
    with torch.no_grad():
        ref = m(x, t, ctx)
        monkeypatch.setattr(SelfAttention, "tokens_major", False)
        got = m(x, t, ctx)
    assert torch.allclose(got, ref, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(ref, torch.zeros_like(ref))


def test_feed_forward_fused_gelu_runs_the_plain_modules_off_cuda():
    """The GELU-epilogue path is CUDA-only: torch's CPU _addmm_activation is erf-GELU, not the
    tanh GELU the block holds, so on a CPU (and under autograd, and for a wrapped layer) the
    plain modules run and the switch changes nothing."""
    from video.models.dit import feed_forward

    mlp = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.GELU(approximate="tanh"), torch.nn.Linear(16, 8))
    x = torch.randn(2, 5, 8)
    with torch.no_grad():
        assert torch.equal(feed_forward(mlp, x, True), mlp(x))
    cpu_fused = torch._addmm_activation(mlp[0].bias, x.reshape(-1, 8), mlp[0].weight.t(), use_gelu=True)
    tanh = torch.nn.functional.gelu(mlp[0](x).reshape(-1, 16), approximate="tanh")
    assert not torch.allclose(cpu_fused, tanh, atol=1e-6)  # why the CPU path is not taken


@pytest.mark.skipif(not torch.cuda.is_available(), reason="the GELU epilogue is a CUDA (cuBLASLt) path")
def test_feed_forward_fused_gelu_matches_the_modules_on_cuda():
    from video.models.dit import feed_forward

    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.GELU(approximate="tanh"),
                              torch.nn.Linear(256, 64)).cuda().to(torch.bfloat16)
    x = torch.randn(2, 300, 64, device="cuda", dtype=torch.bfloat16)
    with torch.no_grad():
        got, ref = feed_forward(mlp, x, True).float(), mlp(x).float()
        ref64 = mlp.double()(x.double()).float()
    assert (got - ref64).norm() / ref64.norm() < 1e-2
    assert (got - ref).norm() / ref.norm() < 1e-2
    mlp = mlp.to(torch.bfloat16)
    with torch.enable_grad():  # training: the plain modules, exactly (autograd through them)
        assert torch.equal(feed_forward(mlp, x, True), mlp(x))

    class Wrapped(torch.nn.Linear):  # a LoRA-wrapped layer is no plain nn.Linear: its own forward runs
        def forward(self, h):
            return super().forward(h) * 2

    wrapped = Wrapped(64, 256).cuda().to(torch.bfloat16)
    wrapped.load_state_dict(mlp[0].state_dict())
    mlp[0] = wrapped
    with torch.no_grad():
        assert torch.equal(feed_forward(mlp, x, True), mlp(x))
