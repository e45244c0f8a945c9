"""Configs: OmegaConf YAML validated against dataclass schemas.

A YAML file, a ``key=value`` override and a CLI flag all set the same schema key; an
unknown key or a wrong type is a :class:`ConfigError` naming it.
"""

from __future__ import annotations

import codecs
import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

import yaml
from omegaconf import AnyNode, BooleanNode, DictConfig, ListConfig, OmegaConf, StringNode
from omegaconf.errors import OmegaConfBaseException, ValidationError
from omegaconf.nodes import FloatNode, IntegerNode

try:  # OmegaConf's YAML loader: its float forms (1e-4), duplicate keys refused
    from omegaconf._yaml import get_yaml_loader
except ImportError:  # omegaconf < 2.4
    from omegaconf._utils import get_yaml_loader

from video.config_data import to_dict  # noqa: F401  (re-exported: its home before)
from video.config_words import (
    FLAG_NOT_KEY,
    KIND_WORDS,
    bare_word_message,
    flag_not_key_hint,
    is_tristate,
    list_item_message,
    must_be,
    type_message,
    yes_no,
)

T = TypeVar("T")

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


class ConfigError(ValueError):
    """A config file or override that does not fit its schema."""


class UnknownKey(ConfigError):
    """A key the schema does not have (a typo, another command's key): ``key`` as given;
    ``known``, the keys of the group it would be in (dotted, each ``prefix`` + a name), for
    :func:`load_config` to end the line with them or with how to list them. ``name``: the part
    of ``key`` that group lacks, matched against its names for a suggestion."""

    def __init__(self, key: str, prefix: str = "", names: list[str] = (), name: str = "", why: str = ""):
        close = difflib.get_close_matches(name, list(names), n=1) if name else []
        super().__init__(f"unknown config key {key!r}" + (f" ({why})" if why else "")
                         + (f"; did you mean {prefix + close[0]!r}?" if close else ""))
        self.key, self.known = key, [prefix + n for n in names]
        self.close = prefix + close[0] if close else None


SHORT_KEY_LIST = 10  # an unknown key's group with at most this many keys has them named in the error


class NotUTF8(ConfigError):
    """A text file (config, recipe, prompts, extra_model_paths.yaml) that is not UTF-8: ``reason``
    is the message without the path, for callers that name the file their own way."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.reason = reason


def read_utf8(path: str | Path) -> str:
    """The text of the file at ``path``, read as UTF-8 whatever the locale, a leading byte-order
    mark dropped (Notepad writes one; kept, it was part of the first key or prompt). Anything else
    (Latin-1, the UTF-16 that Windows PowerShell 5's ``>`` writes) is a :class:`NotUTF8` naming
    the file, not a traceback. UTF-16 is refused rather than decoded: every other reader of the
    same file (``--config`` is read again for which keys were given, a run's saved config.yaml)
    reads UTF-8, so accepting it here would only move the failure."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        utf16 = data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
        raise NotUTF8(path, "not UTF-8 text (" + ("it looks like UTF-16, as Windows PowerShell 5 writes; " if utf16 else "")
                      + "save it as UTF-8)") from None


@dataclass
class UNetConfig:
    """Arguments of diffusers' ``UNetSpatioTemporalConditionModel``."""

    sample_size: int = 96
    in_channels: int = 8
    out_channels: int = 4
    block_out_channels: list[int] = field(default_factory=lambda: [320, 640, 1280, 1280])
    layers_per_block: int = 2
    transformer_layers_per_block: int = 1
    num_attention_heads: list[int] = field(default_factory=lambda: [5, 10, 20, 20])
    cross_attention_dim: int = 1024
    addition_time_embed_dim: int = 256
    projection_class_embeddings_input_dim: int = 768
    num_frames: int = 25


@dataclass
class VAEConfig:
    """Arguments of diffusers' ``AutoencoderKLTemporalDecoder``."""

    block_out_channels: list[int] = field(default_factory=lambda: [128, 256, 512, 512])
    layers_per_block: int = 2
    latent_channels: int = 4
    sample_size: int = 768
    scaling_factor: float = 0.18215


@dataclass
class ImageEncoderConfig:
    """Arguments of transformers' ``CLIPVisionConfig`` (OpenCLIP ViT-H/14 by default)."""

    hidden_size: int = 1280
    intermediate_size: int = 5120
    num_hidden_layers: int = 32
    num_attention_heads: int = 16
    patch_size: int = 14
    image_size: int = 224
    projection_dim: int = 1024
    hidden_act: str = "gelu"
    layer_norm_eps: float = 1e-5


@dataclass
class SamplingConfig:
    """The published sampling defaults of a model (overridable per call)."""

    num_frames: int = 14
    height: int = 576
    width: int = 1024
    num_inference_steps: int = 25
    fps: int = 7
    motion_bucket_id: int = 127
    noise_aug_strength: float = 0.02
    min_guidance_scale: float = 1.0
    max_guidance_scale: float = 2.5
    sigma_min: float = 0.002
    sigma_max: float = 700.0
    sampler: str = "euler"


@dataclass
class ModelConfig:
    name: str = "svd"
    unet: UNetConfig = field(default_factory=UNetConfig)
    vae: VAEConfig = field(default_factory=VAEConfig)
    image_encoder: ImageEncoderConfig = field(default_factory=ImageEncoderConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)


NULLS = ("null", "Null", "NULL", "~")  # YAML's spellings of null, as a key=value value
INT_TEXT = re.compile(r"[+-]?[0-9]+")  # a number key's text: plain decimal only (:func:`_number`)
FLOAT_TEXT = re.compile(r"[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)(e[+-]?[0-9]+)?|inf|infinity|nan)", re.IGNORECASE)

def key_aliases(schema) -> dict[str, str]:
    """A schema's renamed keys, old name -> current key: its ``KEY_ALIASES`` class attribute (a
    ``ClassVar``, so no key itself). On the schema, not passed by each caller, so that every way
    in (a YAML, ``key=value``, a flag, a dict from Python, :func:`video.flags.given_keys`) reads
    an old name alike and a rename lives in one place. Top-level keys only; a wrong table (an
    old name that is still a key, a current one that is not) is a programming error, raised."""
    aliases = dict(getattr(schema, "KEY_ALIASES", None) or {})
    if not aliases:
        return {}
    names = {f.name for f in fields(schema)}
    bad = [f"{old} -> {new}" for old, new in aliases.items() if old in names or new not in names or "." in old]
    if bad:
        raise TypeError(f"KEY_ALIASES of {getattr(schema, '__name__', type(schema).__name__)}: {', '.join(bad)} "
                        "(an old top-level name that is no key -> a key)")
    return aliases


def current_key(key: str, aliases: dict[str, str]) -> str:
    """Dotted ``key`` under its current name: an old name, or a key inside one, renamed."""
    top, dot, rest = key.partition(".") if isinstance(key, str) else (key, "", "")
    return f"{aliases[top]}{dot}{rest}" if top in aliases else key


def unalias_layer(pairs: list[tuple[str, Any]], aliases: dict[str, str], null=lambda v: v is None
                  ) -> list[tuple[str, Any]]:
    """One layer's (key, value) pairs with old names renamed (:func:`key_aliases`), before the
    layers merge: a later layer then overrides an earlier one whichever spelling each used, as
    for any key. One layer giving a key under two spellings is one value: they must agree (a
    ConfigError naming both, else one would be dropped silently); a null one (``null(value)``)
    is "not given" and yields to the other. A key under one spelling keeps its order and
    repeats (the last ``key=value`` wins)."""
    if not aliases:
        return pairs
    spellings: dict[str, dict[str, Any]] = {}  # current key -> spelling -> its last value
    for key, value in pairs:
        spellings.setdefault(current_key(key, aliases), {})[key] = value
    out, merged = [], set()
    for key, value in pairs:
        new = current_key(key, aliases)
        if len(spellings[new]) == 1:
            out.append((new, value))
        elif new not in merged:
            merged.add(new)
            out.append((new, _one_value(new, spellings[new], null)))
    return out


def _one_value(key: str, spellings: dict[str, Any], null) -> Any:
    """The one value of ``key`` given under several ``spellings`` (spelling -> value) in a layer."""
    given = sorted(((k, v) for k, v in spellings.items() if not null(v)), key=lambda kv: kv[0] != key)
    if not given:
        return next(iter(spellings.values()))
    (k1, v1), *rest = given
    for k2, v2 in rest:
        if v2 != v1:
            old = [k for k in (k1, k2) if k != key]
            raise ConfigError(f"{k1} {v1!r} and {k2} {v2!r} are the same option ({' and '.join(old)}: "
                              f"{'old names' if len(old) > 1 else 'an old name'} of {key}); give one")
    return v1


def load_config(schema: type[T], source: str | Path | dict | None = None, overrides: list[str] | None = None,
                values: dict | None = None, keys_hint: str = "", names: dict[str, str] | None = None) -> T:
    """Merge ``source`` (a YAML path, a name under ``configs/``, or a dict), ``key=value``
    overrides, then ``values`` (dotted key -> raw string, e.g. CLI flags: not parsed as YAML,
    so a prompt like ``[a:b:0.5]`` or an aspect ``16:9`` stays a string; the schema converts
    and checks the type) onto ``schema``; return a plain dataclass instance.

    Every key is set on its own, so an error names the key it is about. ``null`` (in YAML or
    as ``key=null``) is "unset": None for an optional key, the empty default of a text or list
    key whose default is empty; any other key cannot be null (a :class:`ConfigError` naming
    it). A single text where a list goes is a one-item list, in YAML as on the command line.

    A renamed key's old name (the schema's ``KEY_ALIASES``, :func:`key_aliases`) sets its current
    key in every layer; the result has only the current key (:func:`unalias_layer`).

    An error is one line in this module's words, never OmegaConf's: ``config key 'steps': must be
    a whole number; got 'true'``, ``unknown config key 'stpes'; did you mean 'steps'?`` (with the
    group's keys where they are few, else ``keys_hint``: how the caller's user lists them). In
    ``values`` a YAML null word (``--steps null``) is null, as in ``key=value``, except for a text
    key, where it is the text typed. ``values`` given, even empty, says the keys are flags: an
    override without ``=`` then hears the flag it was likely meant for (:func:`bare_word_message`).
    ``names``: what an error about a key of ``values`` calls it (its flag, ``--fps``), not "config key"."""
    try:
        return _load(schema, source, overrides, values, keys_hint, names or {})
    except UnknownKey as e:
        if 0 < len(e.known) <= SHORT_KEY_LIST:
            raise ConfigError(f"{e} (keys: {', '.join(e.known)})") from None
        if values is not None and e.close in FLAG_NOT_KEY:  # flags: "a key is a flag's name" is untrue of it
            raise ConfigError(f"{e} ({flag_not_key_hint(e.close)})") from None
        raise ConfigError(f"{e} ({keys_hint})" if keys_hint else str(e)) from None


def _load(schema: type[T], source, overrides, values, keys_hint: str, names: dict[str, str]) -> T:
    """:func:`load_config` but for the wording of an unknown key."""
    aliases = key_aliases(schema)
    try:
        defaults, cfg = OmegaConf.structured(schema), OmegaConf.structured(schema)
        if source is not None:
            data = source if isinstance(source, dict) else read_config_file(source)
            texts = {} if isinstance(source, dict) else _yaml_texts(Path(source).expanduser())
            try:
                data = dict(unalias_layer(list(data.items()), aliases))
            except ConfigError as e:
                raise ConfigError(str(e) if isinstance(source, dict) else f"config file {source}: {e}") from None
            _merge_mapping(cfg, defaults, data, "", {current_key(k, aliases): v for k, v in texts.items()})
        if overrides:
            bad = [o for o in overrides if "=" not in o]
            if bad:  # values given (flags' values, even none): the keys are flags, one may be meant
                raise ConfigError(bare_word_message(bad[0], {f.name for f in fields(schema)},
                                                    flags=values is not None, keys_hint=keys_hint))
            pairs = [tuple(o.split("=", 1)) for o in overrides]
            for key, value in unalias_layer(pairs, aliases, null=lambda v: v in NULLS):
                _set(cfg, defaults, key, _override_value(cfg, key, value), typed=value)
        for key, value in unalias_layer(list((values or {}).items()), aliases):
            typed = value if isinstance(value, str) else None
            if typed in NULLS and _field_kind(cfg, key) != "str":  # --steps null: as steps=null
                value = None
            try:
                _set(cfg, defaults, key, value, typed=typed)
            except ConfigError as e:  # a flag's value: said of its flag (--fps), not of a config key
                if key in names and not isinstance(e, UnknownKey):
                    raise ConfigError(str(e).replace(f"config key {key!r}", names[key], 1)) from None
                raise
        return OmegaConf.to_object(cfg)  # type: ignore[return-value]
    except OmegaConfBaseException as e:
        key = getattr(e, "full_key", None)
        msg = str(e).splitlines()[0]
        raise ConfigError(f"config key {key!r}: {msg}" if key else f"config: {msg}") from None


def read_config_file(source: str | Path) -> dict:
    """The mapping in YAML file ``source`` (``~`` expanded), else a ConfigError line: what it holds (``42``
    was OmegaConf's OSError) or where it breaks. OmegaConf's YAML rules, not its ``${`` interpolation."""
    path = Path(source).expanduser()
    if not path.is_file():
        raise ConfigError(f"config file {source} {'is a folder; give a YAML file' if path.is_dir() else 'not found'}")
    try:
        loaded = yaml.load(read_utf8(path), Loader=get_yaml_loader())
    except NotUTF8 as e:
        raise ConfigError(f"config file {source}: {e.reason}") from None
    except yaml.YAMLError as e:
        mark, problem = getattr(e, "problem_mark", None), getattr(e, "problem", None)
        why = f"line {mark.line + 1}: {problem}" if mark and problem else str(e).splitlines()[0]
        raise ConfigError(f"config file {source}: not valid YAML ({why})") from None
    if loaded is not None and not isinstance(loaded, dict):
        what = "a list" if isinstance(loaded, list) else "text" if isinstance(loaded, str) else str(loaded).lower() \
            if isinstance(loaded, bool) else "a number" if isinstance(loaded, (int, float)) else "a single value"
        raise ConfigError(f"config file {source} holds {what}; it must be a mapping of key: value lines")
    return loaded or {}


def _override_value(cfg, key: str, value: str) -> Any:
    """The value of ``key=value``: raw text for a text key (YAML would read 16:9 as 969 and
    [a:b:0.5] as a list), a one-item list for ``lora=a.safetensors``, ``key=`` the empty
    string (not None), ``null`` None, a number key's text (:func:`_number`), else read as YAML."""
    kind, node = _field_kind(cfg, key), _node(cfg, key)
    if value in NULLS:
        return None
    if kind == "str" or value == "" or is_tristate(node) or isinstance(node, (IntegerNode, FloatNode)):
        return value  # split_guidance=1: the text "1"
    typed = value
    if kind == "list" and not value.lstrip().startswith("["):
        value = f"[{value}]"
    try:
        return yaml.load(value, Loader=get_yaml_loader())  # as OmegaConf's dotlist, without its ${} parsing
    except yaml.YAMLError as e:  # an unclosed [ or quote: one line naming the key, not a traceback
        reason = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"config key {key!r}: not a valid value ({typed}): {reason}") from None


def _merge_mapping(cfg, defaults, data: dict, prefix: str, texts: dict[str, str] | None = None) -> None:
    """Set a YAML mapping onto ``cfg`` key by key (into nested schema groups), so that an error
    names the key rather than a type deep in OmegaConf. ``texts``: each dotted key's value as
    written in the file (:func:`_yaml_texts`), for :func:`_check_text`."""
    for k, v in data.items():
        key = f"{prefix}{k}"
        node = _node(cfg, key)
        if isinstance(v, dict) and isinstance(node, DictConfig) and node._metadata.object_type not in (None, dict):
            _merge_mapping(cfg, defaults, v, f"{key}.", texts)
        else:
            written = (texts or {}).get(key)
            if _field_kind(cfg, key) == "str":
                _check_text(key, v, written)
            _set(cfg, defaults, key, v, typed=written if v is not None and not isinstance(v, str) else None)


def quoted_hint(key: str, written: str | None) -> str:
    """``quote it in YAML: prompt: "[cat:dog:0.5]"`` for ``key`` (its last part: the line as it
    stands in its group) and the value as written; without a one-line written form, generic."""
    shown = '"..."' if written is None or "\n" in written else json.dumps(written, ensure_ascii=False)
    return f"quote it in YAML: {key.rpartition('.')[2]}: {shown}"


def _check_text(key: str, value: Any, written: str | None) -> None:
    """A ConfigError, with the quoted form to write, where YAML turned the text of a text key
    into something else: a list (``prompt: [cat:dog:0.5]``), a mapping, or a number or boolean
    that does not read back as what was typed (``aspect: 16:9`` is YAML 1.1's base-60 969,
    ``0x10`` 16, ``yes`` true). A number that reads back the same (``seed_text: 42``) is kept."""
    if value is None or isinstance(value, str):
        return
    if isinstance(value, (list, dict)):
        what = "a list" if isinstance(value, list) else "a mapping"
    elif written is not None and str(value) != written:
        what = f"{'a boolean' if isinstance(value, bool) else 'the number'} {value!r}"
    else:
        return
    shown = f"{written} " if written is not None and "\n" not in written else ""
    raise ConfigError(f"config key {key!r} is text, but YAML reads {shown}as {what}; {quoted_hint(key, written)}")


def _yaml_texts(source: str | Path) -> dict[str, str]:
    """Dotted key -> the value's text as written in the YAML file at ``source`` (its source
    span, quotes and all), for the values of mappings; empty where the file does not compose."""
    try:
        text = read_utf8(source)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, ConfigError, yaml.YAMLError):
        return {}
    found: dict[str, str] = {}

    def walk(node, prefix: str) -> None:
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                continue
            key = f"{prefix}{k.value}"
            found[key] = text[v.start_mark.index:v.end_mark.index]
            if isinstance(v, yaml.MappingNode):
                walk(v, f"{key}.")

    if isinstance(root, yaml.MappingNode):
        walk(root, "")
    return found


def _set(cfg, defaults, key: str, value: Any, typed: str | None = None) -> None:
    """``cfg[key] = value`` through the schema's checks; null and one-item lists as in
    :func:`load_config`; an error is a ConfigError naming ``key`` (an unknown one an
    :class:`UnknownKey`). ``typed``: the value as the user wrote it, shown in the error (YAML
    and ``key=value`` read ``true`` as True)."""
    _check_known(cfg, key)
    node = _node(cfg, key)
    if value is None:
        value = _null_value(defaults, key)
    elif isinstance(node, ListConfig) and isinstance(value, str):
        value = [value]
    elif isinstance(node, BooleanNode):
        if yes_no(value) is None:
            raise ConfigError(must_be(key, node, "yes or no", typed, value))
        value = yes_no(value)
    elif is_tristate(node) and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = typed if typed is not None else str(value)  # YAML's 1: as split_guidance=1 (tristate reads it)
    elif isinstance(node, (IntegerNode, FloatNode)) and isinstance(value, str):
        value = _number(key, node, value, typed)
    if isinstance(node, DictConfig) and node._metadata.object_type not in (None, dict) and not isinstance(value, dict):
        raise ConfigError(f"config key {key!r} is a group of settings ({key}.NAME=VALUE, or a YAML mapping); "
                          f"got {value!r}")
    if isinstance(node, ListConfig) and isinstance(value, dict):
        hint = _lora_hint(key, value)
        raise ConfigError(f"config key {key!r}: must be a list, got a mapping"
                          + (f"; {hint}" if hint else " (a YAML list: '- item' lines or [a, b])"))
    if isinstance(node, ListConfig) and node._metadata.element_type is str and isinstance(value, (list, tuple)):
        _check_text_items(key, value)
    try:
        OmegaConf.update(cfg, key, _literal(value), merge=True)
    except ValidationError as e:
        raise ConfigError(type_message(key, node, value, typed, e)) from None
    except OmegaConfBaseException as e:  # an unknown key in an item of a list of groups (rules: [{mn: 1}])
        msg = str(e).splitlines()[0]
        named = getattr(e, "full_key", None) or key
        raise ConfigError(list_item_message(key, node, value) or f"config key {named!r}: {msg}") from None
    except (TypeError, ValueError) as e:  # OmegaConf's own type errors on containers
        raise ConfigError(f"config key {key!r}: {str(e).splitlines()[0]}") from None


def _number(key: str, node, text: str, typed: str | None) -> int | float:
    """The number in plain decimal ``text`` (a flag's, a ``key=value``'s), else a ConfigError naming
    ``key``: YAML 1.1 and Python read ``1:30`` as 90, ``0x10`` as 16, ``1_0`` as 10 without a word."""
    t, whole = text.strip(), isinstance(node, IntegerNode)
    t = t[1:-1].strip() if len(t) > 1 and t[0] == t[-1] and t[0] in "'\"" else t  # steps="5", as YAML read it
    if (INT_TEXT if whole else FLOAT_TEXT).fullmatch(t):
        return int(t) if whole else float(t)
    plain = any(c.isdigit() for c in t) and not FLOAT_TEXT.fullmatch(t)
    raise ConfigError(must_be(key, node, KIND_WORDS[type(node)] + (" in decimal digits" if plain else ""), typed, text))


def _literal(value: Any) -> Any:
    """``value``, nested too, with each ``${`` escaped: text is as written, never an interpolation
    (a prompt's ``${price}`` was an error, ``o_${seed}.png`` wrote o_5.png, ``${oc.env:HOME}`` $HOME)."""
    if isinstance(value, (list, tuple, Mapping)):
        return {k: _literal(v) for k, v in value.items()} if isinstance(value, Mapping) else [_literal(v) for v in value]
    return re.sub(r"(\\*)\$\{", lambda m: m[1] * 2 + "\\${", value) if isinstance(value, str) else value


def _check_known(cfg, key: str) -> None:
    """An :class:`UnknownKey` where dotted ``key`` is no key of the schema: a name its group
    lacks, or a name under a single value (``steps.x``). A free-form group (a ``dict`` or
    ``Any`` field) takes any name."""
    node, done = cfg, []
    for part in key.split("."):
        if not isinstance(node, DictConfig):
            if isinstance(node, (ListConfig, AnyNode)):
                return
            raise UnknownKey(key, why=f"{'.'.join(done)!r} is a single value, not a group of settings")
        if node._metadata.object_type in (None, dict) or node._is_none():
            return
        if part not in node:
            raise UnknownKey(key, "".join(f"{d}." for d in done), [str(k) for k in node.keys()], part)
        node = node._get_node(part)
        done.append(part)


def _check_text_items(key: str, items: list | tuple) -> None:
    """A ConfigError naming ``key`` where an item of a list-of-text key is a mapping or a list:
    OmegaConf lets ``lora: [{style: 0.8}]`` into a ``list[str]``, and the code that splits
    FILE:SCALE crashed on it (``lora:`` / ``- style: 0.8`` is a natural slip for ``style:0.8``)."""
    for item in items:
        if isinstance(item, (Mapping, list, tuple, set)):
            what = f"the mapping {item!r}" if isinstance(item, Mapping) else f"the list {list(item)!r}"
            hint = _lora_hint(key, item) if isinstance(item, Mapping) else None
            text = "text (FILE or FILE:SCALE)" if key.rpartition(".")[2] == "lora" else "text"
            raise ConfigError(f"config key {key!r}: each item must be {text}, got {what}"
                              + (f"; {hint}" if hint else ""))


def _lora_hint(key: str, mapping: Mapping) -> str | None:
    """``write each as - style:0.8 (... lora=style:0.8)`` for a ``lora`` key given a mapping of
    name -> number (YAML's reading of ``- style: 0.8``); None for any other key or mapping."""
    scales = [(k, v) for k, v in mapping.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if key.rpartition(".")[2] != "lora" or not scales or len(scales) != len(mapping):
        return None
    items = [f"{k}:{v}" for k, v in scales]
    lines = ", ".join(f"'- {i}'" for i in items) + (" lines" if len(items) > 1 else "")
    return (f"a LoRA with its scale is one text, no space after the colon: write {lines} in YAML, "
            f"{key}={','.join(items)} on the command line")


def _null_value(defaults, key: str) -> Any:
    """What ``key: null`` sets: None for an optional key, "" / [] where that is the key's
    default; a key with no unset value is a ConfigError naming it."""
    node = _node(defaults, key)
    if node is None or node._is_optional():
        return None  # an optional key, or one inside a free-form (Any / dict) value
    if isinstance(node, StringNode) and node._value() == "":
        return ""
    if isinstance(node, ListConfig) and len(node) == 0:
        return []
    kind = "a group of settings" if isinstance(node, DictConfig) else "a list" if isinstance(node, ListConfig) else \
        "auto, on or off" if is_tristate(node) else f"a value of type {type(node._value()).__name__}"
    raise ConfigError(f"config key {key!r} cannot be null: it has no unset value; give {kind}")


def _node(cfg, key: str):
    """The node of dotted ``key`` in ``cfg``, or None where there is none."""
    parent_key, _, leaf = key.rpartition(".")
    try:
        parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
        return parent._get_node(leaf) if OmegaConf.is_dict(parent) else None
    except (OmegaConfBaseException, AttributeError, KeyError):
        return None


def _field_kind(cfg, key: str) -> str | None:
    """``str`` or ``list`` when ``key`` names a field of that type in the structured ``cfg``."""
    node = _node(cfg, key)
    return "str" if isinstance(node, StringNode) else "list" if isinstance(node, ListConfig) else None


def model_config_path(name: str) -> Path:
    """``configs/model/<name>.yaml``; raises with the available names when missing."""
    path = CONFIG_DIR / "model" / f"{name}.yaml"
    if not path.is_file():
        names = sorted(p.stem for p in (CONFIG_DIR / "model").glob("*.yaml"))
        raise ConfigError(f"no model config {name!r}; available: {', '.join(names)}")
    return path


def model_config_kind(path: str | Path) -> str:
    """What a model YAML configures, from its keys: ``text-to-video`` (names a backbone),
    ``DiT`` (a bare DiT: has a patch size) or ``SVD`` (the :class:`ModelConfig` keys)."""
    try:
        data = yaml.safe_load(read_utf8(path)) or {}
    except (OSError, ConfigError, yaml.YAMLError):
        return "SVD"  # load_config names the problem
    keys = data if isinstance(data, dict) else {}
    return "text-to-video" if "backbone" in keys else "DiT" if "patch_size" in keys else "SVD"


def load_model_config(name_or_path: str | Path, overrides: list[str] | None = None) -> ModelConfig:
    """An SVD model config by name (``configs/model``) or YAML path. A name that is a text-to-video
    or DiT config is refused in one line listing the SVD names (they are all in one folder, and
    merging a DiT config onto the SVD schema failed on its first key)."""
    def svd_names() -> str:
        return ", ".join(sorted(q.stem for q in (CONFIG_DIR / "model").glob("*.yaml") if model_config_kind(q) == "SVD"))

    p = Path(name_or_path).expanduser()  # --model-config=~/m.yaml: the shell left the ~
    if p.suffix in (".yaml", ".yml") and p.is_file():
        src = p
    else:
        try:
            src = model_config_path(str(name_or_path))
        except ConfigError:
            raise ConfigError(f"no SVD model config {str(name_or_path)!r}; available: {svd_names()}") from None
    kind = model_config_kind(src)
    if kind != "SVD":
        use = "txt2vid (--model)" if kind == "text-to-video" else "a text-to-video model's dit: key"
        raise ConfigError(f"{name_or_path} is a {kind} config (for {use}), not an SVD one; SVD model configs: "
                          f"{svd_names()}")
    return load_config(ModelConfig, src, overrides)


@dataclass
class TextToVideoSampling:
    num_frames: int = 17
    height: int = 480
    width: int = 832
    num_inference_steps: int = 30
    guidance_scale: float = 5.0
    shift: float = 0.0  # 0: from the token count (video.diffusion.flow.shift_for_tokens)
    sampler: str = "euler"
    fps: int = 16
    negative_prompt: str = ""


@dataclass
class TextToVideoConfig:
    """A text-to-video model folder's ``video_pipeline.yaml`` (and the ``tiny`` model)."""

    name: str = "t2v"
    backbone: str = "dit"  # dit (ours) or wan (diffusers' WanTransformer3DModel)
    dit: Any = None  # DiTConfig fields when backbone is dit
    text_max_length: int = 0  # 0: CLIP-style 75-token chunks; >0: one padded sequence (T5/UMT5: 512)
    sampling: TextToVideoSampling = field(default_factory=TextToVideoSampling)
