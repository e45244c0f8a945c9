"""Model offload: the schedule (one part on the device at a time, in pipeline order) and the
same frames as without it, bit for bit (also with weights loaded from a folder, whose CLIP
weights the loader leaves misaligned: ``offload.align_cpu_weights``). The pipeline does not
offload on a CPU (a warning says so): the schedule is run here with a ``ModelOffload`` to the
CPU set on the pipeline by hand, as a GPU run would copy up and back."""

import numpy as np
import pytest
import torch

from video.config import load_model_config
from video.models.svd import build_random
from video.runtime.img2vid import ImageToVideo, InputError
from video.runtime.offload import CPU_ALIGNMENT, ModelOffload, align_cpu_weights, svd_parts

KW = dict(num_frames=2, num_inference_steps=3, height=64, width=96, noise_aug_strength=0.02, decode_chunk_size=2)


@pytest.fixture()
def models():
    return build_random(load_model_config("tiny"), seed=0)  # offload rewires weights: own copy


def test_parts_hold_every_weight_once(models):
    parts = svd_parts(models)
    ids = [id(p) for mods in parts.values() for m in mods for p in m.parameters()]
    every = [id(p) for net in (models.unet, models.vae, models.image_encoder) for p in net.parameters()]
    assert len(ids) == len(set(ids)) and set(ids) == set(every)


def test_offload_schedule_and_identical_frames(models, photo):
    plain = ImageToVideo(models)(photo, generator=torch.Generator().manual_seed(2), output_type="float", **KW)
    pipe = ImageToVideo(models)
    pipe.offload = off = ModelOffload(svd_parts(models), pipe.device)
    assert isinstance(off, ModelOffload) and off.resident() == set()
    host = {name: [t.data_ptr() for t, _ in pairs] for name, pairs in off.home.items()}
    seen = []

    def watch(module, args):  # which parts are on the device when each network runs
        on_device = {n for n, pairs in off.home.items()
                     if any(t.data_ptr() != h for (t, _), h in zip(pairs, host[n], strict=True))}
        seen.append((type(module).__name__, off.resident(), on_device))

    hooks = [m.register_forward_pre_hook(watch) for m in (models.image_encoder, models.vae.encoder,
                                                          models.unet, models.vae.decoder)]
    frames = pipe(photo, generator=torch.Generator().manual_seed(2), output_type="float", **KW)
    for h in hooks:
        h.remove()
    assert np.array_equal(frames, plain)
    order = ["image_encoder", "vae_encoder", "unet", "vae_decoder"]
    assert off.events == [e for n in order for e in (("load", n), ("unload", n))]
    names = [s[0] for s in seen]
    assert names[0].startswith("CLIPVision") and names[1] == "Encoder" and names[-1] == "TemporalDecoder"
    assert names.count("UNetSpatioTemporalConditionModel") == 3  # one per step, UNet loaded once
    for _, resident, on_device in seen:
        assert len(resident) == 1 and on_device == resident  # only the part in use was copied up
    assert off.resident() == set()
    # every weight points at its host copy again
    assert all(t.data_ptr() == h for n, pairs in off.home.items() for (t, _), h in zip(pairs, host[n], strict=True))


def test_offload_gives_the_same_bits_with_weights_loaded_from_a_folder(tiny_diffusers_dir, photo):
    """The loaded CLIP weights sit at 8-byte offsets in the safetensors buffer; offload's copies
    are aligned, and CPU matmul kernels sum misaligned operands differently (2.4e-7 in the CLIP
    embedding, 1.2e-4 in the latents after two steps, before the weights were aligned at load)."""
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    kw = dict(num_frames=3, num_inference_steps=2, output_type="latent")
    plain = ImageToVideo.from_pretrained(tiny_diffusers_dir)
    off = ImageToVideo.from_pretrained(tiny_diffusers_dir)
    off.offload = ModelOffload(svd_parts(off.models), off.device)
    assert torch.equal(plain(photo, generator=g(), **kw), off(photo, generator=g(), **kw))
    assert ("load", "vae_decoder") not in off.offload.events  # latents: the decoder is never copied up
    kw["output_type"] = "float"
    assert np.array_equal(plain(photo, generator=g(), **kw), off(photo, generator=g(), **kw))


def test_align_cpu_weights_moves_only_misaligned_weights_and_keeps_values():
    buf = torch.arange(40, dtype=torch.float32)
    lin = torch.nn.Linear(4, 4)
    lin.weight.data = buf[2:18].view(4, 4)  # a view 8 bytes into a buffer, as a loader leaves it
    lin.bias.data = buf[16:20]  # 64 bytes in: aligned already
    assert lin.weight.data_ptr() % CPU_ALIGNMENT and lin.bias.data_ptr() % CPU_ALIGNMENT == 0
    bias_ptr = lin.bias.data_ptr()
    assert align_cpu_weights([lin]) == 1
    assert lin.weight.data_ptr() % CPU_ALIGNMENT == 0 and lin.bias.data_ptr() == bias_ptr
    assert torch.equal(lin.weight, buf[2:18].view(4, 4)) and torch.equal(lin.bias, buf[16:20])


def test_unknown_offload_mode(models):
    with pytest.raises(InputError, match="offload"):
        ImageToVideo(models, offload="sequential")


def test_offload_and_cuda_graphs_exclude_each_other(models):
    """CUDA graphs record the weights' addresses; offload moves the weights every video. The
    refusal comes from the mode alone, so it holds on a CPU, where offload does nothing."""
    with pytest.raises(InputError, match="offload=none"):
        ImageToVideo(models, offload="model").compile(mode="reduce-overhead")


def test_offload_on_a_cpu_keeps_one_copy_of_the_weights_and_says_so(models, photo):
    """On a CPU offload copied each network to the same CPU while it ran: more memory, not less
    (827 MB -> 1121 MB peak with an 80M UNet). Now every network runs on the very tensors it
    was built with (no second copy exists at any point), with one warning line."""
    plain = ImageToVideo(models)(photo, generator=torch.Generator().manual_seed(2), output_type="float", **KW)
    nets = (models.image_encoder, models.vae.encoder, models.unet, models.vae.decoder)
    built = {id(n): [p.data_ptr() for p in n.parameters()] for n in nets}
    with pytest.warns(UserWarning, match="only acts on a GPU") as caught:
        pipe = ImageToVideo(models, offload="model")
    assert len(caught) == 1
    ran = []
    hooks = [n.register_forward_pre_hook(lambda m, a: ran.append([p.data_ptr() for p in m.parameters()] ==
                                                                    built[id(m)])) for n in nets]
    frames = pipe(photo, generator=torch.Generator().manual_seed(2), output_type="float", **KW)
    for h in hooks:
        h.remove()
    assert len(ran) >= 4 and all(ran)  # each network ran, every time on the weights it was built with
    assert np.array_equal(frames, plain)
