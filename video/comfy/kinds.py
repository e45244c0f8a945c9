"""The model kinds the node pack runs (as :func:`video.models.detect.detect_kind` names them),
which node runs which, and for each runnable kind the part a user may have saved alone and the
whole model to get instead: the loader's list, its refusals and the nodes read these."""

SVD_KINDS = ("svd", "svd_xt")
FLOW_KINDS = ("dit_t2v", "wan_t2v")
EDIT_KINDS = SVD_KINDS + FLOW_KINDS + ("wan_vace",)
ANIMATE_KINDS = ("wan_animate",)
RUNNABLE_KINDS = EDIT_KINDS + ANIMATE_KINDS  # what some node of this pack runs
LORA_KINDS = SVD_KINDS + FLOW_KINDS  # the kinds whose pipelines take LoRAs (VideoModel._with_loras)
RUNS = ("SVD / SVD-XT (Image to Video, Inpaint), Wan 2.1 T2V and our DiT (Text to Video, Inpaint), "
        "Wan VACE (Inpaint) and Wan-Animate (Animate), as diffusers folders (SVD also as a single file)")
# Where each Wan kind is published in the diffusers layout this pack loads (its SINGLE_FILE hint).
WAN_REPOS = {"wan_t2v": "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "wan_vace": "Wan-AI/Wan2.1-VACE-1.3B-diffusers",
             "wan_animate": "Wan-AI/Wan2.2-Animate-14B-Diffusers"}
# The part a model of each runnable kind is when it is saved alone (a UNet or transformer folder
# or file), and the whole model this loader takes instead: the refusal names both.
PARTS = {"svd": "an SVD UNet", "svd_xt": "an SVD-XT UNet", "dit_t2v": "our DiT transformer",
         "wan_t2v": "a Wan transformer", "wan_vace": "a Wan VACE transformer",
         "wan_animate": "a Wan-Animate transformer"}
_SVD_WHOLE = ("the whole SVD diffusers folder (unet/, vae/, image_encoder/: "
              "stabilityai/stable-video-diffusion-img2vid or -img2vid-xt) or Stability's single file "
              "(svd.safetensors, svd_xt.safetensors)")
WHOLE = {"svd": _SVD_WHOLE, "svd_xt": _SVD_WHOLE,
         "dit_t2v": "the whole folder our trainer exports (video_pipeline.yaml, transformer/, text_encoder/, "
                    "tokenizer/, vae/)",
         "wan_t2v": "the whole Wan2.1-T2V diffusers folder", "wan_vace": "the whole Wan2.1-VACE diffusers folder",
         "wan_animate": "the whole Wan2.2-Animate diffusers folder"}
