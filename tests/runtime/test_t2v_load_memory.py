"""Loading our text-to-video layout builds no float32 copy of the transformer: the DiT is made
on the meta device and takes the file's tensors (a bf16 file loaded in bf16 never goes through
float32; before, a randomly initialised float32 DiT was built, filled, then cast)."""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))
from live_bytes import LiveBytes  # noqa: E402

from video.runtime.txt2vid import build_tiny, load_t2v, save_t2v  # noqa: E402


def test_a_bf16_transformer_loads_without_a_float32_copy(tmp_path):
    m = build_tiny()
    m.transformer.to(torch.bfloat16)
    path = save_t2v(m, tmp_path / "t2v")
    dit32 = sum(v.numel() * 4 for v in m.transformer.state_dict().values())
    vae32 = sum(v.numel() * 4 for v in m.vae.state_dict().values())  # the VAE is kept in float32 by design
    with LiveBytes(torch.float32) as live:
        out = load_t2v(path, dtype=torch.bfloat16)
    assert live.peak < vae32 + dit32 // 2, (live.peak, vae32, dit32)
    ref = m.transformer.state_dict()
    got = out.transformer.state_dict()
    assert got.keys() == ref.keys() and all(torch.equal(got[k], ref[k]) for k in ref)
    assert not any(p.is_meta for p in out.transformer.parameters())
