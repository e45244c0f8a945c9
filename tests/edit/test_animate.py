"""Wan-Animate through our loop against diffusers' own WanAnimatePipeline on the same tiny
random model and initial latents, in both modes. Each comparison also shows it can fail:
dropping or replacing a conditioning input (pose, face) moves the frames off."""

import numpy as np
import pytest
import torch
from PIL import Image
from vace_fixtures import SHIFT, close, moving_clip, our_schedule, randomize, tiny_text, tiny_vae

from video.edit.animate import Animator, fold_mask, pad_frames, segment_plan
from video.runtime.img2vid import InputError

FRAMES, H, W, STEPS, FACE = 9, 32, 48, 3, 16
PROMPT, NEG = "a dancer on a stage", "blurry"


def animate_components() -> dict:
    """Every part of WanAnimatePipeline at toy size. The motion encoder needs a power-of-two face
    size with a channel count for each power down to 4 (its convs halve the size to 4, then a
    4x4 conv); the face encoder's two stride-2 causal convs take 4k+1 frames to k+1; the CLIP
    width is the transformer's ``image_dim``."""
    from diffusers import FlowMatchEulerDiscreteScheduler, WanAnimateTransformer3DModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    tok, text = tiny_text()
    transformer = WanAnimateTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=2 * 4 + 4,
        latent_channels=4, out_channels=4, text_dim=32, freq_dim=32, ffn_dim=64, num_layers=2, image_dim=32,
        rope_max_seq_len=32, motion_encoder_channel_sizes={"16": 16, "8": 16, "4": 16}, motion_encoder_size=FACE,
        motion_style_dim=16, motion_dim=4, motion_encoder_dim=16, face_encoder_hidden_dim=16,
        face_encoder_num_heads=2, inject_face_latents_blocks=1, motion_encoder_batch_size=4)
    randomize(transformer, 3)
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():  # its layers scale their N(0, 1) weights by 1/sqrt(fan_in) themselves (StyleGAN's
        # equalised learning rate): scaled twice, the face signal would vanish in the biases
        for p in transformer.motion_encoder.parameters():
            if p.ndim > 1:
                p.copy_(torch.randn(p.shape, generator=g))
        # the tiny random VAE's latents barely vary with content: weigh the pose latents up, as VACE's
        # fixture does its context
        transformer.pose_patch_embedding.weight.mul_(30.0)
    torch.manual_seed(2)
    clip = CLIPVisionModel(CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                            num_attention_heads=4, image_size=32, patch_size=8)).eval()
    proc = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    return dict(tokenizer=tok, text_encoder=text, vae=tiny_vae(), scheduler=FlowMatchEulerDiscreteScheduler(shift=SHIFT),
                image_processor=proc, image_encoder=clip, transformer=transformer)


@pytest.fixture(scope="module")
def animate_dir(tmp_path_factory):
    from diffusers import WanAnimatePipeline

    path = tmp_path_factory.mktemp("animate") / "tiny-animate"
    WanAnimatePipeline(**animate_components()).save_pretrained(path, safe_serialization=True)
    return path


@pytest.fixture(scope="module")
def pipes(animate_dir):
    from diffusers import WanAnimatePipeline

    ref = WanAnimatePipeline.from_pretrained(animate_dir)
    for part in (ref.text_encoder, ref.image_encoder, ref.transformer, ref.vae):
        part.eval()
    ref.scheduler = our_schedule(ref.scheduler)
    ref.set_progress_bar_config(disable=True)
    return Animator.from_pretrained(animate_dir), ref


@pytest.fixture(scope="module")
def inputs():
    import skimage.data

    image = np.asarray(Image.fromarray(skimage.data.chelsea()).resize((40, 30), Image.BILINEAR))  # not H x W
    pose = 255 - moving_clip(FRAMES, H, W, seed=1)  # stands in for a rendered skeleton video
    face = moving_clip(FRAMES, 24, 24, seed=2)  # face crops, resized to the motion encoder's size
    background = moving_clip(FRAMES, H, W)
    mask = np.zeros((FRAMES, H, W, 3), np.uint8)
    mask[:, 8:32, 8:32] = 255  # white: where the character goes
    return image, pose, face, background, mask


def _pil(frames):
    return [Image.fromarray(f) for f in frames]


def _ref(ref, image, pose, face, **kw):
    out = ref(image=Image.fromarray(image), pose_video=_pil(pose), face_video=_pil(face), height=H, width=W,
              segment_frame_length=FRAMES, num_inference_steps=STEPS, output_type="np", **kw).frames[0]
    return (out * 255).round().astype(np.uint8)


def test_animate_matches_diffusers(pipes, inputs):
    ours, ref = pipes
    image, pose, face, _, _ = inputs
    lat = torch.randn(1, 4, 1 + 3, H // 8, W // 8, generator=torch.Generator().manual_seed(4))
    kw = dict(prompt=PROMPT, negative_prompt=NEG, guidance_scale=4.0, latents=lat)
    a = ours(image, pose, face, num_inference_steps=STEPS, height=H, width=W, **kw)
    b = _ref(ref, image, pose, face, **kw)
    assert a.shape == b.shape == (FRAMES, H, W, 3) and a.dtype == np.uint8
    assert a.std() > 5
    assert close(a, b) >= 0.99, close(a, b)
    a_lat = ours(image, pose, face, num_inference_steps=STEPS, output_type="latent", **kw)
    b_lat = ref(image=Image.fromarray(image), pose_video=_pil(pose), face_video=_pil(face), height=H, width=W,
                segment_frame_length=FRAMES, num_inference_steps=STEPS, output_type="latent", **kw).frames
    space = ours.models.latents  # diffusers hands back its latents de-normalised, as it decodes them
    assert a_lat.shape == b_lat.shape == lat.shape
    assert (a_lat * space.std + space.mean - b_lat).abs().max() < 1e-4
    # each conditioning input reaches the model: replace one and the comparison fails
    other_pose = ours(image, moving_clip(FRAMES, H, W, seed=3), face, num_inference_steps=STEPS, **kw)
    other_face = ours(image, pose, 255 - face, num_inference_steps=STEPS, **kw)
    for name, c in (("pose", other_pose), ("face", other_face)):
        assert close(c, b) < 0.9, (name, close(c, b))
    # dropping the face (the blank face of the unconditional branch) also moves them off
    blank = ours(image, pose, np.zeros_like(face), num_inference_steps=STEPS, **kw)
    assert close(blank, b) < 0.9, close(blank, b)


def test_replace_matches_diffusers(pipes, inputs):
    ours, ref = pipes
    image, pose, face, background, mask = inputs
    lat = torch.randn(1, 4, 1 + 3, H // 8, W // 8, generator=torch.Generator().manual_seed(5))
    kw = dict(prompt=PROMPT, guidance_scale=1.0, latents=lat)
    a = ours(image, pose, face, mode="replace", background_video=background, mask_video=mask,
             num_inference_steps=STEPS, **kw)
    b = _ref(ref, image, pose, face, mode="replace", background_video=_pil(background), mask_video=_pil(mask),
             **kw)
    assert close(a, b) >= 0.99, close(a, b)
    animated = ours(image, pose, face, num_inference_steps=STEPS, **kw)
    assert close(animated, b) < 0.9, close(animated, b)
    other_pose = ours(image, moving_clip(FRAMES, H, W, seed=3), face, mode="replace", background_video=background,
                      mask_video=mask, num_inference_steps=STEPS, **kw)
    assert close(other_pose, b) < 0.9, close(other_pose, b)
    with pytest.raises(InputError, match="background_video"):
        ours(image, pose, face, mode="replace", num_inference_steps=1)
    # a background or mask shorter than the pose video is refused, as a short face video is
    # (it was mirrored into frames it does not have)
    for short in ("background_video", "mask_video"):
        kw_short = dict(background_video=background, mask_video=mask)
        kw_short[short] = kw_short[short][:2]
        with pytest.raises(InputError, match=f"{short} has 2 frames; the pose video has {FRAMES}"):
            ours(image, pose, face, mode="replace", num_inference_steps=1, **kw_short)


def test_two_segments_match_diffusers(pipes, inputs):
    """13 frames in segments of 9 overlapping by 1: padded by reflection to 17, the second
    segment conditioned on the last decoded frame of the first, its noise from the generator."""
    ours, ref = pipes
    image, _, _, _, _ = inputs
    pose = 255 - moving_clip(13, H, W, seed=1)
    face = moving_clip(13, 24, 24)
    a = ours(image, pose, face, prompt=PROMPT, num_inference_steps=2, segment_frame_length=FRAMES,
             generator=torch.Generator().manual_seed(6))
    b = (ref(image=Image.fromarray(image), pose_video=_pil(pose), face_video=_pil(face), prompt=PROMPT, height=H,
             width=W, segment_frame_length=FRAMES, num_inference_steps=2, generator=torch.Generator().manual_seed(6),
             output_type="np").frames[0] * 255).round().astype(np.uint8)
    assert a.shape == b.shape == (13, H, W, 3)
    assert close(a, b) >= 0.99, close(a, b)


def test_helpers():
    assert pad_frames([1, 2, 3, 4, 5], 10) == [1, 2, 3, 4, 5, 4, 3, 2, 1, 2]
    assert pad_frames([7], 3) == [7, 7, 7]
    assert segment_plan(9, 9, 1) == (9, 1) and segment_plan(13, 9, 1) == (17, 2) and segment_plan(7, 77, 1) == (77, 1)
    m = torch.zeros(1, 1, 9, 2, 3)
    m[:, :, 0] = 1
    m[:, :, 5, 1, 2] = 1
    f = fold_mask(m, 3, 2, 3, 4)
    assert f.shape == (1, 4, 3, 2, 3)
    assert (f[:, :, 0] == 1).all() and f[0, 0, 2, 1, 2] == 1 and f[:, :, 1:].sum() == 1
    assert (fold_mask(None, 3, 2, 3, 4, first=1)[:, :, 0] == 1).all()


def test_cli(animate_dir, inputs, tmp_path):
    import argparse

    from video.edit.animate_cli import add_animate_command

    image, pose, face, _, _ = inputs
    for name, frames in (("pose", pose), ("face", face)):
        (tmp_path / name).mkdir()
        for i, fr in enumerate(frames):
            Image.fromarray(fr).save(tmp_path / name / f"{i:03d}.png")
    Image.fromarray(image).save(tmp_path / "char.png")
    parser = argparse.ArgumentParser()
    add_animate_command(parser.add_subparsers())
    args = parser.parse_args(["animate", "--model", str(animate_dir), "--image", str(tmp_path / "char.png"),
                              "--pose", str(tmp_path / "pose"), "--face", str(tmp_path / "face"), "--steps", "1",
                              "--fps", "8", "--output", str(tmp_path / "out")])
    assert args.func(args) == 0
    assert len(list((tmp_path / "out").glob("*.png"))) == FRAMES
    from video.media import MediaError

    args = parser.parse_args(["animate", "--model", str(animate_dir), "--image", str(tmp_path / "char.png"),
                              "--pose", str(tmp_path / "missing.mp4"), "--face", str(tmp_path / "face"),
                              "--output", str(tmp_path / "o2")])
    with pytest.raises(MediaError):
        args.func(args)
    args = parser.parse_args(["animate", "--model", str(animate_dir), "--image", str(tmp_path / "char.png"),
                              "--pose", str(tmp_path / "pose"), "--face", str(tmp_path / "face"), "--mode",
                              "replace", "--output", str(tmp_path / "o3")])
    with pytest.raises(InputError):
        args.func(args)
    # replace mode: the background video's audio goes into the output; a short --mask is refused
    import subprocess

    import av

    from video.media import ffmpeg_exe, write_video

    _, _, _, background, mask = inputs
    silent = write_video(background, tmp_path / "bg_silent.mp4", fps=8)
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(silent), "-f", "lavfi", "-i", "sine",
                    "-t", str(FRAMES / 8), "-c:v", "copy", "-c:a", "aac", str(tmp_path / "bg.mp4")], check=True)
    write_video(mask, tmp_path / "mask.mp4", fps=8)
    write_video(mask[:2], tmp_path / "mask2.mp4", fps=8)
    base = ["animate", "--model", str(animate_dir), "--image", str(tmp_path / "char.png"), "--pose",
            str(tmp_path / "pose"), "--face", str(tmp_path / "face"), "--mode", "replace", "--background",
            str(tmp_path / "bg.mp4"), "--steps", "1", "--fps", "8"]
    args = parser.parse_args([*base, "--mask", str(tmp_path / "mask2.mp4"), "--output", str(tmp_path / "o4.mp4")])
    with pytest.raises(InputError, match="the mask video has 2 frames; the pose video has 9"):
        args.func(args)
    args = parser.parse_args([*base, "--mask", str(tmp_path / "mask.mp4"), "--output", str(tmp_path / "o5.mp4")])
    assert args.func(args) == 0
    with av.open(str(tmp_path / "o5.mp4")) as c:
        assert [round(float(a.duration * a.time_base), 1) for a in c.streams.audio] == [round(FRAMES / 8, 1)]


@pytest.mark.filterwarnings("ignore:prompt ends in")  # the lone weight is the point here
def test_a_lone_weighted_term_keeps_its_weight_at_guidance_1(pipes, inputs):
    """``prompt:0.5`` at guidance 1 is uncond + 0.5 (cond - uncond), the plain prompt at guidance
    0.5; the unconditional pass was skipped whenever the scale was <= 1, dropping the weight."""
    ours, _ = pipes
    image, pose, face, _, _ = inputs
    lat = torch.randn(1, 4, 1 + 3, H // 8, W // 8, generator=torch.Generator().manual_seed(4))
    run = lambda prompt, scale: ours(image, pose, face, prompt=prompt, negative_prompt=NEG,  # noqa: E731
                                     guidance_scale=scale, latents=lat, num_inference_steps=STEPS, height=H,
                                     width=W, output_type="latent")
    weighted, half, full = run(PROMPT + ":0.5", 1.0), run(PROMPT, 0.5), run(PROMPT, 1.0)
    assert (half - full).abs().max() > 1e-3
    assert torch.allclose(weighted, half, atol=1e-5)


def test_guidance_0_runs_one_forward_the_unconditional_branchs(pipes, inputs, monkeypatch):
    """``guidance_scale=0`` is the unconditional branch alone (the negative prompt, no face):
    one forward a step, where both branches ran, twice the work for the same frames."""
    import video.edit.animate as animate

    ours, _ = pipes
    image, pose, face, _, _ = inputs
    lat = torch.randn(1, 4, 1 + 3, H // 8, W // 8, generator=torch.Generator().manual_seed(4))
    run = lambda: ours(image, pose, face, prompt=PROMPT, negative_prompt=NEG, guidance_scale=0.0,  # noqa: E731
                       latents=lat, num_inference_steps=STEPS, height=H, width=W, output_type="latent")
    batches = []
    hook = ours.models.transformer.register_forward_pre_hook(lambda _m, a: batches.append(a[0].shape[0]))
    try:
        one = run()
    finally:
        hook.remove()
    assert batches and set(batches) == {1}
    monkeypatch.setattr(animate, "needs_conds", lambda *_: True)  # both branches, then uncond + 0 (cond - uncond)
    both = run()
    assert torch.allclose(one, both, atol=1e-5), (one - both).abs().max()
