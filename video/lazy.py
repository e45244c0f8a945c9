"""Package attributes imported on first use (PEP 562).

``video --help``, ``curate --help`` and a mistyped flag build parsers that import our packages;
the modules behind ``ImageToVideo``, ``Editor`` or the prompt encoder import torch and diffusers
(seconds). A package names where each such attribute lives, and it is imported when first read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_attributes(package: str, home: dict[str, str], namespace: dict) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for ``package``: ``home`` maps a name to the submodule (relative
    to the package) that defines it; ``namespace`` is the package's ``globals()``, where a name is
    bound once imported so the next look-up is a plain global."""

    def __getattr__(name: str) -> object:
        if name not in home:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{home[name]}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *home})

    return __getattr__, __dir__
