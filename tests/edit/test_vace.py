"""Wan VACE through our loop against diffusers' own WanVACEPipeline on the same tiny random
model and initial latents: masked editing with a reference image, and a control video. Each
comparison also shows it can fail: dropping a conditioning input moves the frames off."""

import numpy as np
import pytest
import torch
from PIL import Image
from vace_fixtures import SHIFT, close, moving_clip, our_schedule

from video.diffusion.flow import time_shift
from video.edit.vace import VaceEditor, fold_mask, letterbox_reference, strength_schedule, video_to_tensor
from video.runtime.img2vid import InputError

FRAMES, H, W, STEPS = 9, 32, 48, 4
PROMPT, NEG = "a red kite over the sea", "blurry"


@pytest.fixture(scope="module")
def pipes(vace_dir):
    from diffusers import WanVACEPipeline

    ref = WanVACEPipeline.from_pretrained(vace_dir)
    ref.scheduler = our_schedule(ref.scheduler)
    ref.set_progress_bar_config(disable=True)
    return VaceEditor.from_pretrained(vace_dir), ref


@pytest.fixture(scope="module")
def inputs():
    import skimage.data

    video = moving_clip(FRAMES, H, W)
    mask = np.zeros((FRAMES, H, W), np.uint8)
    mask[:, 8:24, 16:40] = 255  # a box to regenerate, on every frame
    mask[6:] = 255  # and the last frames entirely
    reference = np.asarray(Image.fromarray(skimage.data.coffee()).resize((24, 40), Image.BILINEAR))  # portrait
    return video, mask, reference


def _pil(frames):
    return [Image.fromarray(f) for f in frames]


def _ref_frames(ref, **kw):
    """diffusers' frames (uint8) and its final latents, reference frames dropped."""
    box = {}

    def keep(_pipe, _i, _t, tensors):
        box["latents"] = tensors["latents"]
        return {}

    out = ref(output_type="np", num_inference_steps=STEPS, guidance_scale=5.0, height=H, width=W,
              num_frames=FRAMES, callback_on_step_end=keep, **kw).frames[0]
    refs = box["latents"].shape[2] - (FRAMES - 1) // 4 - 1
    return (out * 255).round().astype(np.uint8), box["latents"][:, :, refs:]


def test_masked_edit_with_reference_matches_diffusers(pipes, inputs):
    ours, ref = pipes
    video, mask, reference = inputs
    assert ours.config.sampling.shift == SHIFT  # read from the folder's scheduler config
    lat = torch.randn(1, 4, 1 + 3, H // 8, W // 8, generator=torch.Generator().manual_seed(4))
    kw = dict(prompt=PROMPT, negative_prompt=NEG, num_inference_steps=STEPS, guidance_scale=5.0)
    a = ours(video=video, mask=mask, reference_images=reference, latents=lat, **kw)
    b, b_lat = _ref_frames(ref, prompt=PROMPT, negative_prompt=NEG, video=_pil(video),
                    mask=_pil(np.repeat(mask[..., None], 3, -1)), reference_images=Image.fromarray(reference),
                    latents=lat)
    assert a.shape == b.shape == (FRAMES, H, W, 3) and a.dtype == np.uint8
    assert a.std() > 5
    assert close(a, b) >= 0.99, close(a, b)
    a_lat = ours(video=video, mask=mask, reference_images=reference, latents=lat, output_type="latent", **kw)
    assert (a_lat - b_lat).abs().max() < 1e-4
    # each conditioning input reaches the model: drop one and the comparison fails
    no_mask = ours(video=video, reference_images=reference, latents=lat, **kw)
    no_video = ours(reference_images=reference, latents=lat, num_frames=FRAMES, height=H, width=W, **kw)
    for name, c in (("mask", no_mask), ("video", no_video)):
        assert close(c, b) < 0.9, (name, close(c, b))
    # a reference reaches the video frames only through attention, which is weak in a tiny random
    # model (about 1% of the latents): the latent comparison shows it
    no_ref = ours(video=video, mask=mask, latents=lat[:, :, 1:], output_type="latent", **kw)
    assert (no_ref - b_lat).abs().max() > 1e-2


def test_control_video_matches_diffusers(pipes):
    ours, ref = pipes
    control = 255 - moving_clip(FRAMES, H, W, seed=1)  # stands in for a rendered pose/depth video
    lat = torch.randn(1, 4, 3, H // 8, W // 8, generator=torch.Generator().manual_seed(5))
    kw = dict(prompt=PROMPT, negative_prompt=NEG, num_inference_steps=STEPS, guidance_scale=5.0)
    a = ours(control_video=control, latents=lat, **kw)
    b, _ = _ref_frames(ref, prompt=PROMPT, negative_prompt=NEG, video=_pil(control), latents=lat)
    assert close(a, b) >= 0.99, close(a, b)
    plain = ours(latents=lat, num_frames=FRAMES, height=H, width=W, **kw)
    assert close(plain, b) < 0.9, close(plain, b)
    # a control inside a mask replaces only the masked region of the video
    video = moving_clip(FRAMES, H, W)
    mask = np.zeros((FRAMES, H, W), bool)
    mask[:, :16] = True
    inp = ours.prepare_inputs(video=video, mask=mask, control_video=control)
    assert torch.equal(inp.video[..., :16, :], ours.prepare_inputs(video=control).video[..., :16, :])
    assert torch.equal(inp.video[..., 16:, :], ours.prepare_inputs(video=video).video[..., 16:, :])


def test_mask_folding_and_letterbox():
    m = torch.zeros(1, 1, 5, 16, 32)
    m[..., 1, 0, 9] = 1  # frame 1, pixel (0, 9): block (0, 1), in-block offset (0, 1)
    m[..., 0, 15, 31] = 1  # frame 0 is not sampled: nearest-exact 5 -> 2 frames takes frames 1 and 3
    f = fold_mask(m, spatial=8, temporal=4, patch=2)
    assert f.shape == (1, 64, 2, 2, 4)
    assert f.sum() == 1 and f[0, 1, 0, 0, 1] == 1
    ref = letterbox_reference(np.zeros((40, 24, 3), np.uint8), 32, 48)  # portrait into landscape
    assert ref.shape == (3, 32, 48)
    assert (ref[:, :, :14] == 1).all() and (ref[:, :, 14:33] == -1).all() and (ref[:, :, 34:] == 1).all()


def test_strength_edits_keep_the_source_closer(pipes, inputs):
    ours, _ = pipes
    video, mask, _ = inputs
    kw = dict(prompt=PROMPT, num_inference_steps=STEPS, guidance_scale=1.0, video=video, mask=mask,
              output_type="latent")
    full = ours(strength=1.0, generator=torch.Generator().manual_seed(0), **kw)
    light = ours(strength=0.25, generator=torch.Generator().manual_seed(0), **kw)
    # the random tiny VAE does not reconstruct, so compare in its latent space
    source = ours.models.latents.encode(video_to_tensor(video, H, W))
    assert (light - source).abs().mean() < 0.75 * (full - source).abs().mean()
    ts = strength_schedule(STEPS, SHIFT, 0.25)
    assert len(ts) == 2 and torch.isclose(ts[0], time_shift(torch.tensor(0.25), SHIFT))
    with pytest.raises(InputError, match="4k\\+1"):
        ours(video=video[:4], prompt="x", num_inference_steps=1)
    with pytest.raises(InputError, match="mask"):
        ours(mask=mask, prompt="x", num_inference_steps=1)
    with pytest.raises(InputError, match="strength"):
        ours(prompt="x", strength=0.5, num_inference_steps=2, num_frames=5, height=H, width=W)


def test_long_clip_in_windows_joined_through_context(pipes):
    """A clip longer than the window: the first window is the one-window edit of its frames; the
    second is given the frames it shares with the first as the first's result, kept (mask 0);
    a length that is not 4k+1 is padded for the model and cut back."""
    from video.edit.vace import VaceRecipeEditor

    ours, _ = pipes
    editor = VaceRecipeEditor(ours)
    video = moving_clip(13, H, W, seed=3)
    box = "16,8,40,24"
    kw = dict(prompt=PROMPT, num_inference_steps=2, guidance_scale=1.0)
    calls = []

    class Spy:  # the VaceEditor, recording what each window is given
        def __getattr__(self, name):
            return getattr(ours, name)

        def __setattr__(self, name, value):
            setattr(ours, name, value)

        def __call__(self, **a):
            calls.append({k: a[k] for k in ("video", "mask", "num_frames")})
            return ours(**a)

    editor.vace = Spy()
    out = editor(video, mask=box, window=9, overlap=4, generator=torch.Generator().manual_seed(0), **kw)
    first = editor(video[:9], mask=box, generator=torch.Generator().manual_seed(0), **kw)
    m = np.zeros((13, H, W), bool)
    m[:, 8:24, 16:40] = True
    assert out.shape == video.shape and np.array_equal(out[~m], video[~m])  # outside the box: the input
    assert np.abs(out[m].astype(int) - video[m].astype(int)).mean() > 5
    assert [c["num_frames"] for c in calls] == [9, 9, 9]  # windows (0, 9), (4, 13), then the 9-frame clip
    assert np.array_equal(out[:9], first)  # window 1 is the one-window edit of those frames
    second = calls[1]
    assert np.array_equal(second["video"][:5], out[4:9])  # the shared frames: window 1's result
    assert (second["mask"][:5] == 0).all() and (second["mask"][5:][:, 8:24, 16:40] > 0).all()
    short = editor(video[:6], mask=box, **kw)  # 6 frames: padded to 9 for the model, 6 back
    assert short.shape == (6, H, W, 3) and calls[-1]["num_frames"] == 9
    with pytest.raises(InputError, match="one-window"):
        editor(video, mask=box, window=9, overlap=4, latents=torch.zeros(1), **kw)


def test_recipe_editor_keeps_any_size_and_fills_thin_masks(pipes):
    """A 30x44 clip (not a multiple of 16): padded for the model, cropped back, every pixel
    outside the mask the input's (the clip was resized to 16x32 before); a 4-px stroke is
    the model's output throughout (a fixed 8-px ramp kept 3/4 of the original); an empty mask
    is refused."""
    from video.edit.vace import VaceRecipeEditor
    from video.media import MediaError

    ours, _ = pipes
    editor = VaceRecipeEditor(ours)
    video = moving_clip(5, 30, 44, seed=4)
    m = np.zeros((30, 44), np.float32)
    m[4:26, 20:24] = 1
    seen = {}

    class Spy:
        def __getattr__(self, name):
            return getattr(ours, name)

        def __setattr__(self, name, value):
            setattr(ours, name, value)

        def __call__(self, **a):
            seen["size"] = (a["height"], a["width"])
            seen["out"] = ours(**a)
            return seen["out"]

    editor.vace = Spy()
    out = editor(video, mask=m, prompt=PROMPT, num_inference_steps=1, generator=torch.Generator().manual_seed(0))
    sel = m > 0
    assert out.shape == video.shape and seen["size"] == (32, 48)
    assert np.array_equal(out[:, ~sel], video[:, ~sel])
    assert np.array_equal(out[:, sel], seen["out"][:5, :30, :44][:, sel])
    assert np.array_equal(editor(video, mask=m, strength=0.0), video)
    with pytest.raises(MediaError, match="empty after thresholding"):
        editor(video, mask=m * 0.4, num_inference_steps=1)


@pytest.mark.parametrize("damage", ["no_vae", "pickled_only", "truncated"])
def test_broken_folders_are_one_line_errors(vace_dir, tmp_path, damage):
    """A VACE folder loads as text-to-video folders do: a missing or broken part is one line
    naming the folder and the part, never a library traceback."""
    import shutil

    from video.models.svd import CheckpointError

    bad = tmp_path / "vace"
    shutil.copytree(vace_dir, bad)
    if damage == "no_vae":
        shutil.rmtree(bad / "vae")
        want = "needs vae/"
    elif damage == "pickled_only":
        for f in (bad / "transformer").glob("*.safetensors"):
            f.rename(f.with_name("diffusion_pytorch_model.bin"))
        want = "transformer: no .safetensors weights, only diffusion_pytorch_model.bin"
    else:
        f = next((bad / "transformer").glob("*.safetensors"))
        f.write_bytes(f.read_bytes()[:1000])
        want = "truncated or damaged safetensors file"  # named from its header before any part loads
    with pytest.raises(CheckpointError, match=want) as e:
        VaceEditor.from_pretrained(bad)
    assert "\n" not in str(e.value) and str(bad) in str(e.value)


@pytest.mark.filterwarnings("ignore:prompt ends in")  # the lone weight is the point here
def test_a_lone_weighted_term_keeps_its_weight_at_guidance_1(pipes, inputs):
    """Composable CFG: ``prompt:0.5`` at guidance 1 is uncond + 0.5 (cond - uncond), the same as
    the plain prompt at guidance 0.5 (and not the plain prompt at guidance 1, which it was:
    the unconditional pass was skipped whenever the scale was 1)."""
    ours, _ = pipes
    video, mask, _ = inputs
    kw = dict(video=video, mask=mask, negative_prompt=NEG, num_inference_steps=2, output_type="latent")
    run = lambda prompt, scale: ours(prompt=prompt, guidance_scale=scale,  # noqa: E731
                                     generator=torch.Generator().manual_seed(3), **kw)
    weighted, half, full = run(PROMPT + ":0.5", 1.0), run(PROMPT, 0.5), run(PROMPT, 1.0)
    assert (half - full).abs().max() > 1e-3  # the guidance scale matters here
    assert torch.allclose(weighted, half, atol=1e-5)


@pytest.mark.parametrize("steps,strength", [(50, 0.5), (10, 0.25), (7, 0.6), (4, 1.0)])
def test_strength_is_diffusers_skip_rule_not_the_editors_start(steps, strength):
    """VACE's strength is WanVideoToVideoPipeline.get_timesteps on the shifted grid (what its
    docstring says), which starts above t = strength when shift > 1; Editor's SDEdit schedule
    starts at t = strength exactly (strength 0.5, shift 3, 50 steps: 0.75 against 0.5)."""
    import types

    from diffusers import FlowMatchEulerDiscreteScheduler, WanVideoToVideoPipeline

    from video.diffusion.strength import flow_edit_schedule

    sched = our_schedule(FlowMatchEulerDiscreteScheduler(shift=SHIFT))
    sched.set_timesteps(steps)
    ref, n = WanVideoToVideoPipeline.get_timesteps(types.SimpleNamespace(scheduler=sched), steps, sched.timesteps,
                                                   strength, "cpu")
    ts = strength_schedule(steps, SHIFT, strength)
    assert len(ts) - 1 == n and torch.allclose(ts[:-1] * 1000, ref.float(), atol=1e-3)
    assert torch.isclose(ts[0], time_shift(torch.tensor(int(steps * strength) / steps), SHIFT))
    assert float(flow_edit_schedule(strength, steps, SHIFT).levels[0]) == pytest.approx(strength)
    if (steps, strength) == (50, 0.5):  # SHIFT is 3
        assert float(ts[0]) == pytest.approx(0.75)


def test_prompt_schedule_counts_the_steps_that_run(pipes, inputs):
    """With strength < 1 the prompt schedule spans the steps that run, as the Editor's does:
    ``[cat:dog:0.5]`` switches halfway through them (it used to index the full schedule from the
    skipped steps on, so a half-strength edit saw only ``dog``)."""
    ours, _ = pipes
    video, mask, _ = inputs
    states = {t: ours.prompts.encode_text(t)[0] for t in ("cat", "dog")}
    seen = []

    def record(_module, args, kwargs):
        ctx = args[2]  # (hidden_states, timestep, encoder_hidden_states, ...)
        [name] = [t for t, s in states.items() if torch.equal(ctx[-1], s.to(ctx))]
        seen.append(name)

    run = len(strength_schedule(8, SHIFT, 0.5)) - 1
    assert run == 4
    handle = ours.models.transformer.register_forward_pre_hook(record, with_kwargs=True)
    try:
        ours(prompt="[cat:dog:0.5]", negative_prompt="", num_inference_steps=8, guidance_scale=5.0, strength=0.5,
             video=video, mask=mask, output_type="latent", generator=torch.Generator().manual_seed(0))
    finally:
        handle.remove()
    assert seen == ["cat", "cat", "dog", "dog"]


def test_guidance_0_runs_one_forward_the_negative_prompts(pipes, inputs):
    """``guidance_scale=0`` is the unconditional prediction alone (uncond + 0 (cond - uncond)):
    one forward a step, with the negative prompt, which is the negative prompt rendered as the
    prompt at guidance 1. Both branches ran before, twice the work for the same frames."""
    ours, _ = pipes
    video, mask, _ = inputs
    lat = torch.randn(1, 4, (FRAMES - 1) // 4 + 1, H // 8, W // 8, generator=torch.Generator().manual_seed(4))
    batches = []
    hook = ours.models.transformer.register_forward_pre_hook(lambda _m, a: batches.append(a[0].shape[0]))
    try:
        zero = ours(prompt=PROMPT, negative_prompt=NEG, guidance_scale=0.0, num_inference_steps=STEPS, video=video,
                    mask=mask, latents=lat, output_type="latent")
    finally:
        hook.remove()
    assert batches and set(batches) == {1}
    neg = ours(prompt=NEG, negative_prompt="", guidance_scale=1.0, num_inference_steps=STEPS, video=video,
               mask=mask, latents=lat, output_type="latent")
    assert torch.equal(zero, neg)
