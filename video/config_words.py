"""How a config value is read and refused in words: the yes/no spellings every route shares,
the tri-state (auto / on / off) keys, and OmegaConf's refusals of a value rewritten as
``config key 'KEY': must be WHAT; got 'V'`` (:mod:`video.config` raises them)."""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any

from omegaconf import BooleanNode, DictConfig, FloatNode, IntegerNode, ListConfig, OmegaConf, StringNode
from omegaconf.base import UnionNode
from omegaconf.errors import OmegaConfBaseException, ValidationError

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


# The keys whose flag is not the key's name with - for _ (the README says so of each): an
# unknown key close to one hears both names, not "a key is a flag's name with _ for -", which
# sent ``memory_budget=5`` (the flag --memory-budget so rewritten) to a key --help never shows.
FLAG_NOT_KEY = {"memory_budget_gib": "--memory-budget"}


def flag_not_key_hint(key: str) -> str:
    """What sets ``key`` (one of :data:`FLAG_NOT_KEY`): its flag, and its own name elsewhere."""
    return f"its flag is {FLAG_NOT_KEY[key]}; as key=value and in YAML it is {key}"


KIND_WORDS = {IntegerNode: "a whole number", FloatNode: "a number", BooleanNode: "yes or no", StringNode: "text"}
ITEM_WORDS = {int: "a whole number", float: "a number", bool: "yes or no", str: "text"}


def must_be(key: str, node, what: str, typed: str | None, value: Any) -> str:
    """``config key 'KEY': must be WHAT; got 'V'``, V as typed where known; an optional key
    given a word that is not null (``none``) hears how it is unset."""
    shown = typed if typed is not None else value
    hint = " (null unsets it)" if node is not None and node._is_optional() and str(shown).strip().lower() in (
        "none", "") else ""
    return f"config key {key!r}: must be {what}; got {shown!r}{hint}"


def _kind_words(node) -> str | None:
    what = next((w for kind, w in KIND_WORDS.items() if isinstance(node, kind)), None)
    if is_tristate(node):
        return "auto, on or off"
    return "a list" if isinstance(node, ListConfig) else what


def _group_message(at: str, group: DictConfig, data: dict) -> str | None:
    """The first key of ``data`` that the schema group ``group`` lacks or refuses, in this
    module's words, named under ``at`` (``rules[0].min``); None when ``data`` fits."""
    names = [str(k) for k in group.keys()]
    for k, v in data.items():
        key = f"{at}.{k}"
        if k not in group:
            close = difflib.get_close_matches(str(k), names, n=1)
            return f"config key {key!r}: unknown key" + (
                f"; did you mean {close[0]!r}?" if close else f" (keys: {', '.join(names)})")
        child = group._get_node(k)
        if isinstance(child, DictConfig) and child._metadata.object_type not in (None, dict) and isinstance(v, dict):
            if (msg := _group_message(key, child, v)) is not None:
                return msg
            continue
        try:
            OmegaConf.update(group, str(k), v, merge=True)
        except OmegaConfBaseException:
            what = _kind_words(child)
            return must_be(key, child, what, None, v) if what else f"config key {key!r}: not a valid value ({v!r})"
    return None


def list_item_message(key: str, node, value: Any) -> str | None:
    """Where list ``key`` holds settings groups (``rules: list[Rule]``), the first item of
    ``value`` that is refused, named by its place and field in this module's words:
    ``config key 'rules[0].min': must be a number; got 'abc'``, ``config key 'rules[0].mn':
    unknown key; did you mean 'min'?``. OmegaConf names only the field (``'min'``), and a
    list's own refusal said ``must be a list`` of a list. None where the items are no groups or
    all fit."""
    item = node._metadata.element_type if isinstance(node, ListConfig) else None
    if not (isinstance(item, type) and dataclasses.is_dataclass(item)) or not isinstance(value, (list, tuple)):
        return None
    for i, v in enumerate(value):
        group = OmegaConf.structured(item)
        if not isinstance(v, dict):
            return (f"config key '{key}[{i}]': must be a mapping of {', '.join(str(k) for k in group.keys())}; "
                    f"got {v!r}")
        if (msg := _group_message(f"{key}[{i}]", group, v)) is not None:
            return msg
    return None


def type_message(key: str, node, value: Any, typed: str | None, e: ValidationError) -> str:
    """OmegaConf's refusal of a value (``Value 'True' of type 'bool' could not be converted to
    Integer``) in this module's words: what the key takes and what it got. An item of a list is
    named by its place (``optim.betas[0]``), a field of an item that is a settings group by its
    place and name (:func:`list_item_message`). A kind with no words here keeps OmegaConf's."""
    if (msg := list_item_message(key, node, value)) is not None:
        return msg
    full = getattr(e, "full_key", None) or key
    if full != key and isinstance(node, ListConfig):
        item = getattr(getattr(e, "ref_type", None), "__args__", (None,))[0]
        if item in ITEM_WORDS:
            return f"config key {full!r}: must be {ITEM_WORDS[item]}; got {getattr(e, 'value', value)!r}"
    what = _kind_words(node)
    if what is None:
        return f"config key {full!r}: {str(e).splitlines()[0]}"
    return must_be(key, node, what, typed, value)


# A bare word (no '=') where ``key=value`` was expected, most often a flag's value typed without
# its flag (``video txt2vid "a cat"``, ``video eval outputs/ ref/``): what the word looks like ->
# the keys it most likely belongs to, the first the schema has wins. Flag-taking commands name
# each of these keys' flag --KEY (- for _; checked per command by the tests).
_IMAGES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
_VIDEOS = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".gif")
_WEIGHTS = (".safetensors", ".sft", ".ckpt", ".pt", ".pth", ".bin", ".gguf")
_FOLDER_KEYS = ("video", "reference", "pose", "image", "output")  # frames in, eval's references; PNGs out


def bare_word_keys(word: str) -> tuple[str, ...]:
    """The keys ``word`` is most likely the value of, best first: a folder an input (frames,
    eval's references) or the output (PNG frames), a YAML file ``--config``, weights a model, an image or a video that exists an
    input (one that does not yet, a video: the output), a text file prompts, other text with a
    letter a prompt; a number or an unknown file nothing (the caller says what to do)."""
    import os

    path = word.rstrip("/" + os.sep)
    suffix = os.path.splitext(path)[1].lower()
    if word.endswith(("/", os.sep)) or os.path.isdir(word):
        return _FOLDER_KEYS
    if suffix in (".yaml", ".yml"):
        return ("config",)
    if suffix in _WEIGHTS:
        return ("model", "lora")
    if suffix in _IMAGES:
        return ("image", "video", "reference", "output")
    if suffix in _VIDEOS:
        return ("video", "pose", "reference", "output") if os.path.exists(word) else ("output", "video")
    if suffix == ".txt":
        return ("prompts", "prompt")
    if os.path.exists(word) or ("/" in word and " " not in word):
        return ()
    return ("prompt",) if any(c.isalpha() for c in word) else ()


def _shell_word(word: str) -> str:
    """``word`` as typed on a shell line: bare when plain, else in double quotes (single where
    it holds a character a double-quoted word expands)."""
    import shlex

    if shlex.quote(word) == word:
        return word
    return shlex.quote(word) if any(c in word for c in '"$`\\!') else f'"{word}"'


def bare_word_message(word: str, keys, flags: bool, keys_hint: str = "") -> str:
    """The one line for ``word``, given where only ``key=value`` is taken: that such words are
    not taken, and (``flags``: the command has a flag per key) the flag it most likely is
    the value of, among ``keys`` (the schema's); else how the keys are listed (``keys_hint``).
    It said only ``override 'a cat' is not key=value``."""
    head = f"{word!r} is not key=value: words without '=' are not taken here"
    if not flags:
        return f"{head}; give key=value" + (f" ({keys_hint})" if keys_hint else "")
    key = next((k for k in bare_word_keys(word) if k in keys or k == "config"), None)
    if key is None:
        return f"{head} (--help lists the flags)"
    return f"{head}; did you mean --{key.replace('_', '-')} {_shell_word(word)}? (--help lists the flags)"
