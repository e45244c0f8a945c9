"""How a config value is read and refused in words: the yes/no spellings every route shares,
the tri-state (auto / on / off) keys, and OmegaConf's refusals of a value rewritten as
``config key 'KEY': must be WHAT; got 'V'`` (:mod:`video.config` raises them)."""

from __future__ import annotations

from typing import Any

from omegaconf import BooleanNode, FloatNode, IntegerNode, ListConfig, StringNode
from omegaconf.base import UnionNode
from omegaconf.errors import ValidationError

# The spellings of a yes/no key (and of a tri-state key's on / off, :func:`video.flags.tristate`),
# whichever way it is given: YAML 1.1's words, read as YAML reads them in a file, and 1 / 0. Any
# other number is refused: OmegaConf took 2 (or -1) for True without a word.
YES_NO = {"yes": True, "y": True, "on": True, "true": True, "1": True,
          "no": False, "n": False, "off": False, "false": False, "0": False}


def yes_no(value: Any) -> bool | None:
    """``value`` (a bool, 0 / 1, or a :data:`YES_NO` word in any case) as a bool; None where it
    is none of those."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    return YES_NO.get(value.strip().lower()) if isinstance(value, str) else None


def is_tristate(node) -> bool:
    """Whether ``node`` is a tri-state key (auto / on / off): a ``str | bool`` field, so that
    YAML's unquoted ``on`` (True to YAML) fits it; :func:`video.flags.tristate` reads its value."""
    return isinstance(node, UnionNode) and set(getattr(node._metadata.ref_type, "__args__", ())) == {str, bool}


KIND_WORDS = {IntegerNode: "a whole number", FloatNode: "a number", BooleanNode: "yes or no", StringNode: "text"}
ITEM_WORDS = {int: "a whole number", float: "a number", bool: "yes or no", str: "text"}


def must_be(key: str, node, what: str, typed: str | None, value: Any) -> str:
    """``config key 'KEY': must be WHAT; got 'V'``, V as typed where known; an optional key
    given a word that is not null (``none``) hears how it is unset."""
    shown = typed if typed is not None else value
    hint = " (null unsets it)" if node is not None and node._is_optional() and str(shown).strip().lower() in (
        "none", "") else ""
    return f"config key {key!r}: must be {what}; got {shown!r}{hint}"


def type_message(key: str, node, value: Any, typed: str | None, e: ValidationError) -> str:
    """OmegaConf's refusal of a value (``Value 'True' of type 'bool' could not be converted to
    Integer``) in this module's words: what the key takes and what it got. An item of a list is
    named by its place (``optim.betas[0]``). A kind with no words here keeps OmegaConf's."""
    full = getattr(e, "full_key", None) or key
    if full != key and isinstance(node, ListConfig):
        item = getattr(getattr(e, "ref_type", None), "__args__", (None,))[0]
        if item in ITEM_WORDS:
            return f"config key {full!r}: must be {ITEM_WORDS[item]}; got {getattr(e, 'value', value)!r}"
    what = next((w for kind, w in KIND_WORDS.items() if isinstance(node, kind)), None)
    if is_tristate(node):
        what = "auto, on or off"
    if isinstance(node, ListConfig):
        what = "a list"
    if what is None:
        return f"config key {full!r}: {str(e).splitlines()[0]}"
    return must_be(key, node, what, typed, value)
