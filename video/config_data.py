"""A config dataclass as plain data (dicts, lists, numbers, text): what runs record and save."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any


def to_dict(obj: Any) -> Any:
    """``obj`` (a config dataclass, nested) as plain data, every text as written. It went through
    ``OmegaConf.structured``, which reads ``${`` in a text as an interpolation: a run whose
    ``out`` was ``runs/r${x`` (a value is taken as typed) failed to save its config.yaml."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {k: to_dict(v) for k, v in obj.items()}
    return [to_dict(v) for v in obj] if isinstance(obj, (list, tuple)) else obj


def to_yaml(data: Any) -> str:
    """Plain data (:func:`to_dict`) as YAML, written as ``OmegaConf.save`` writes it (its dumper
    quotes a text that its loader would read as another type: ``1e3``, ``0x10``), without
    building an OmegaConf tree, whose grammar refuses an unclosed ``${`` in a text."""
    import yaml

    try:
        from omegaconf._utils import get_omega_conf_dumper
    except ImportError:  # pragma: no cover - a later OmegaConf may move it
        return yaml.safe_dump(data, default_flow_style=False, allow_unicode=True, sort_keys=False)
    return yaml.dump(data, default_flow_style=False, allow_unicode=True, sort_keys=False,
                     Dumper=get_omega_conf_dumper())
