"""Command-line flags from dataclass schemas, shared by every subcommand (``video``,
``video edit``, ``upscale``, ``animate``, ``eval``): a flag per schema key, ``--config`` YAML and
``key=value`` overrides anywhere on the line, merged in one order; the checks that turn a bad
value into one line before any weights load; the device and dtype choice.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Callable

from video.config import current_key, key_aliases, load_config
from video.config_words import yes_no

LIST_KEYS = {"lora"}  # flags that may repeat


class UserError(Exception):
    """Anything the user can fix: printed as one line, exit code 2."""


def help_with_default(help_: str, value) -> str:
    """``help_`` with the schema's default appended where it does not say it already (the flags'
    own argparse default is None, "not given", so ``%(default)s`` cannot show it)."""
    if "default" in help_.lower() or "required" in help_.lower():
        return help_
    shown = "none" if value in ("", None, []) else f"{value:g}" if isinstance(value, float) else str(value)
    return f"{help_} (default {shown})" if shown != "none" else f"{help_} (default: none)"


def add_schema_flags(p: argparse.ArgumentParser, flags: dict, aliases: dict | None = None,
                      list_keys: set | frozenset = frozenset(LIST_KEYS), schema=None) -> None:
    """A flag per schema key (default None: "not given", so a --config or key=value value stays),
    ``--config`` and the trailing ``key=value`` overrides. ``aliases``: flag -> its short forms;
    ``schema``: the dataclass whose defaults the help shows where it does not say them, and whose
    renamed keys (:func:`video.config.key_aliases`) keep their old flag: ``--old-name`` beside
    the current key's flag, so a rename is declared once, on the schema."""
    import dataclasses

    defaults, renamed = {}, key_aliases(schema) if schema is not None else {}
    for f in dataclasses.fields(schema) if schema is not None else ():
        defaults[f.name] = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    for flag, (key, help_) in flags.items():
        if key in defaults:
            help_ = help_with_default(help_, defaults[key])
        names = {n: "a short form" for n in (aliases or {}).get(flag, ())}
        names |= {f"--{old.replace('_', '-')}": "an old name" for old, new in renamed.items() if new == key}
        names.pop(flag, None)
        if key in list_keys or not names:  # each spelling of a list flag adds its values: none is lost
            p.add_argument(flag, *names, default=None, help=help_, action="append" if key in list_keys else "store")
        else:
            p.add_argument(flag, *names, default=None, help=help_, action=_Spellings, spellings=names)
    p.add_argument("--config", default=None, help="YAML file with any of these keys (by their key=value names)",
                   action=_Spellings, spellings={}, once=True)
    # default []: a nargs="*" positional without one is listed as required when it is missing
    p.add_argument("overrides", nargs="*", default=[],
                   help="key=value overrides of the same keys (a flag and key=value for the same key is an "
                        "error; key=value wins over --config)")


SPELLINGS = "flag_spellings"  # Namespace attribute: dest -> {option string: the value it last gave}


class _Spellings(argparse._StoreAction):
    """argparse's ``store`` for a flag with several spellings (``-o`` / ``--output``, a renamed
    key's ``--negative-prompt`` / ``--negative``), recording the value each spelling gave, so
    :func:`check_spellings` can refuse two spellings at two values: argparse kept the last one
    silently, where ``negative_prompt=x negative=y`` is refused. ``spellings``: each other
    option string -> what it is of the flag ("an old name", "a short form"). ``once``: a flag
    given once (``--config``): each time it is given is recorded, so a second file is refused
    rather than dropping the first's keys without a word."""

    def __init__(self, *args, spellings: dict[str, str], once: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.spellings, self.once = spellings, once

    def __call__(self, parser, namespace, values, option_string=None):
        super().__call__(parser, namespace, values, option_string)
        if getattr(namespace, SPELLINGS, None) is None:
            setattr(namespace, SPELLINGS, {})
        given = getattr(namespace, SPELLINGS).setdefault(self.dest, {})
        given[(option_string, len(given)) if self.once else option_string] = (values, self)


def check_spellings(args: argparse.Namespace) -> None:
    """One-line UserError where one command line gives a flag under two of its spellings at two
    values (:class:`_Spellings`), worded as :func:`video.config.unalias_layer` words the same
    for ``key=value``; the same value twice is one value. A spelling repeated is argparse's
    "the last wins", as a repeated ``key=value``, but for a flag taken ``once`` (``--config``:
    a second file replaced the first whole, where two ``key=value`` differ in one key)."""
    for given in (getattr(args, SPELLINGS, None) or {}).values():
        if len({str(v) for v, _ in given.values()}) < 2:
            continue
        action = next(a for _, a in given.values())
        flag = action.option_strings[0]
        if action.once:
            v1, v2 = list(dict.fromkeys(str(v) for v, _ in given.values()))[:2]
            raise UserError(f"{flag} given twice ({v1} and {v2}): it takes one file; merge them into one, or give "
                            "the other's settings as key=value")
        (k1, (v1, _)), (k2, (v2, _)) = sorted(given.items(), key=lambda kv: kv[0] != flag)[:2]
        old = [k for k in (k1, k2) if k != flag]
        what = " and ".join(f"{k}: {action.spellings[k]} of {flag}" for k in old)
        raise UserError(f"{k1} {v1!r} and {k2} {v2!r} are the same option ({what}); give one")


def resolve_flags(schema, args, flags: dict):
    """The config of a subcommand: ``--config`` YAML, then ``key=value``, then the flags given
    (taken as typed, never parsed as YAML; an unset switch leaves the key alone). A key given
    both as a flag and as ``key=value`` is an error: one of the two would be dropped silently;
    a renamed key's old name (the schema's ``KEY_ALIASES``) is that key here too, and a flag's
    two spellings at two values are refused (:func:`check_spellings`)."""
    check_spellings(args)
    values, flag_of, renamed = {}, {}, key_aliases(schema)
    for flag, (key, _h) in flags.items():
        v = getattr(args, flag.lstrip("-").replace("-", "_"))
        if v is not None and v is not False:
            values[key], flag_of[key] = v, flag
    overrides = list(args.overrides)
    for o in overrides:
        key = current_key(o.partition("=")[0], renamed)
        if key in values:
            given = values[key]
            shown = " ".join(f"{flag_of[key]} {x}" for x in given) if isinstance(given, list) else (
                flag_of[key] if given is True else f"{flag_of[key]} {given}")
            raise UserError(f"{key} given twice: {shown} and {o}; give it once")
    return load_config(schema, args.config, overrides, values, keys_hint=FLAG_KEYS_HINT, names=flag_of)


FLAG_KEYS_HINT = "--help lists them: a key is a flag's name with _ for -"


def given_keys(args: argparse.Namespace, flags: dict, schema=None) -> dict[str, str]:
    """The keys this run was given, whatever their value, each with how it was given (its flag,
    its ``key=value``, or ``key in FILE.yaml``): a refine option given at its default value is
    still given, and comparing values with the defaults let ``--seed 0`` or ``--strength 0.3``
    pass without ``--refine``. ``null`` (key=null, a YAML ``key: null``) is "unset", not given.
    Read after :func:`resolve_flags` has checked the YAML. Used where a flag is refused
    whenever it is given (upscale's refine options without --refine, a task's foreign flags).
    ``schema``: where given, a renamed key's old name (its ``KEY_ALIASES``) is reported under
    the current key, with how it was given (``negative_prompt=x`` for ``negative``)."""
    from video.config import NULLS, read_config_file

    given, renamed = {}, key_aliases(schema) if schema is not None else {}
    if args.config:
        data = read_config_file(args.config)
        given.update({current_key(k, renamed): f"{k} in {args.config}" for k, v in data.items() if v is not None})
    for o in args.overrides:
        key, _, value = o.partition("=")
        if value not in NULLS:
            given[current_key(key, renamed)] = o
    for flag, (key, _h) in flags.items():
        if getattr(args, flag.lstrip("-").replace("-", "_")) not in (None, False):
            given[key] = flag
    return given


def device_and_dtype(device: str, dtype: str, cuda_dtype: str = "float16"):
    """``auto`` -> CUDA when present (with ``cuda_dtype``), else CPU in float32. The device is
    checked by :func:`video.runtime.img2vid.usable_device`, the pipelines' own check, so the
    command line and Python refuse the same devices with the same line."""
    import torch

    from video.runtime.img2vid import InputError, usable_device

    try:
        dev = usable_device(device, "--device")
    except InputError as e:
        raise UserError(str(e)) from None
    if dtype == "auto":
        dtype = cuda_dtype if dev.type == "cuda" else "float32"
    if dtype not in ("float16", "bfloat16", "float32"):
        raise UserError(f"--dtype must be float16, bfloat16, float32 or auto, got {dtype!r}")
    return dev, getattr(torch, dtype)


def sdpa_choice(name: str) -> str:
    """``name`` if it is an attention order of video.runtime.speed, else a one-line UserError."""
    from video.runtime.config import SDPA_FIRST

    if name not in SDPA_FIRST:
        raise UserError(f"--sdpa must be one of {', '.join(SDPA_FIRST)}, got {name!r}")
    return name


UNSET_HINT = "leave it unset for the model's default"


def _default_words(help_: str) -> str | None:
    """The words after "default:" in a flag's help, to the ")" that closes the parenthesis
    they sit in, or the next ";" outside one: "all" in "only the first N frames (default: all)"."""
    at = help_.find("default: ")
    if at < 0:
        return None
    depth, text = 0, help_[at + len("default: "):]
    for i, ch in enumerate(text):
        if depth == 0 and ch in ");":
            return text[:i].strip()
        depth += (ch == "(") - (ch == ")")
    return text.strip()


def unset_hint(help_: str) -> str:
    """What leaving a key unset gives, in the words of its flag's help: :data:`UNSET_HINT` where
    that is "the model's" (img2vid, txt2vid, edit's --steps), else "the default: WORDS" (upscale's
    and animate's --frames: all). One hint for every command said "the model's default" where the
    default is all frames, the input's rate, or the size of the pose video."""
    words = _default_words(help_)
    if words is None:
        return "leave it unset for the default"
    rest = words[len("the model's"):] if words.startswith("the model's") else None
    if rest is not None and not rest.lstrip()[:1].isalpha():  # "the model's, 25 for SVD"; not "the model's length"
        return UNSET_HINT
    return f"leave it unset for the default: {words}"


def check_ranges(cfg, flags: dict, minimum: dict) -> None:
    """One-line UserError, before any weights load, for a set value below its minimum
    (``minimum``: schema key -> smallest value; None is unset, the model's default). Without it a
    negative --fps rendered for minutes before ffmpeg refused it, and a negative --height made a
    16-pixel clip. Only None means "the model's default": a 0 for --frames or --steps used to
    become it without a word; the error for a key whose default is None says what unset gives
    (:func:`unset_hint`, from the flag's help). A float that
    is NaN or infinite is refused too: NaN compares False with everything, so ``noise_aug=nan``
    passed and rendered a black clip."""
    import dataclasses
    import math

    optional = {f.name for f in dataclasses.fields(cfg) if f.default is None}
    flag_of = {key: flag for flag, (key, _h) in flags.items()}
    help_of = {key: help_ for key, help_ in flags.values()}
    for key, low in minimum.items():
        value = getattr(cfg, key)
        hint = f" ({unset_hint(help_of[key])})" if key in optional else ""
        if isinstance(value, float) and not math.isfinite(value):
            raise UserError(f"{flag_of[key]} must be a finite number >= {low}{hint}; got {value}")
        if value is not None and value < low:
            raise UserError(f"{flag_of[key]} must be >= {low}{hint}; got {value}")


SEED_RANGE = (-2**63, 2**64 - 1)  # what torch.Generator.manual_seed takes (a negative wraps modulo 2**64)
RANDOM_SEED = -1  # A1111's "a new seed each run"


def seed_for(seed: int, flag: str = "--seed") -> int:
    """The seed a run renders with: ``seed`` itself, or for -1 (:data:`RANDOM_SEED`, as in
    A1111) a fresh random one, printed on stderr so the render can be repeated; -1 used to be
    one fixed seed, the same frames every run. A seed ``torch.Generator.manual_seed`` refuses
    (outside :data:`SEED_RANGE`) is a one-line UserError, called before any weights load: it
    was a traceback ("Overflow when unpacking long long"), after the model had loaded."""
    if seed == RANDOM_SEED:
        import secrets

        seed = secrets.randbelow(2**32)  # A1111's range: short enough to type back
        print(f"seed: {seed} (random; {flag} {seed} renders the same again)", file=sys.stderr)
        return seed
    low, high = SEED_RANGE
    if not low <= seed <= high:
        raise UserError(f"{flag} must be a whole number from {low} to {high}, or {RANDOM_SEED} for a random "
                        f"seed; got {seed}")
    return seed


def check_finite(cfg, flags: dict, keys: tuple[str, ...]) -> None:
    """One-line UserError, before any weights load, for a set value of ``keys`` that is NaN or
    infinite (a guidance scale, a hue turn, a saturation: any real number is some edit, but NaN
    passed every comparison and rendered a black clip with exit 0). None is unset."""
    import math

    flag_of = {key: flag for flag, (key, _h) in flags.items()}
    for key in keys:
        value = getattr(cfg, key)
        if value is not None and not math.isfinite(value):
            raise UserError(f"{flag_of[key]} must be a finite number; got {value}")


def check_above_zero(cfg, flags: dict, keys: tuple[str, ...]) -> None:
    """One-line UserError, before any weights load, for a set value of ``keys`` that is not a
    finite number above 0 (a flow shift, a frame rate: real numbers where 0 means nothing, so
    :func:`check_ranges`' ">= minimum" cannot say it). None is unset; as there, a 0 used to be a
    silent second spelling of "the default" (``video edit --shift 0``), so the error for a key
    whose default is None says to leave it unset."""
    import dataclasses
    import math

    optional = {f.name for f in dataclasses.fields(cfg) if f.default is None}
    flag_of = {key: flag for flag, (key, _h) in flags.items()}
    help_of = {key: help_ for key, help_ in flags.values()}
    for key in keys:
        value = getattr(cfg, key)
        if value is not None and not (math.isfinite(value) and value > 0):
            hint = f" ({unset_hint(help_of[key])})" if key in optional else ""
            raise UserError(f"{flag_of[key]} must be a finite number > 0{hint}; got {value:g}")


def tristate(flag: str, value: str | bool | int) -> bool | None:
    """A tri-state key's value (``split_guidance``, ``vae_tiling``: a ``str | bool`` field, see
    :func:`video.config_words.is_tristate`) -> None (``auto``) / True / False, or a one-line
    UserError. One rule whichever way it came (a flag, ``key=value``, a YAML line, in which
    unquoted ``on`` is True): ``auto``, or on / off in any spelling a yes/no key takes
    (:data:`video.config_words.YES_NO`: yes/no, true/false, 1/0), in any case. ``yes`` used to pass
    as ``key=value`` but not as a flag, ``1`` not at all."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return None
    on = yes_no(value)
    if on is None:
        raise UserError(f"{flag} takes auto, on or off; got {value!r}")
    return on


OVERRIDE = re.compile(r"^[A-Za-z_][\w.-]*=")  # key=value, key.sub=value


def switches(parser: argparse.ArgumentParser) -> set[str]:
    """Option strings that take no value (``--dry-run``, ``--help``), in the parser and its
    subcommands: a ``key=value`` after one of them is an override, not that option's value."""
    found = set()
    for action in parser._actions:
        if action.nargs == 0:
            found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= switches(sub)
    return found


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    """``parser.parse_args``, with ``key=value`` overrides taken anywhere on the line: argparse
    fills a ``nargs="*"`` positional from one run of words only, so ``steps=1 --frames 2
    output=t.mp4`` left ``output=t.mp4`` unrecognised, and ``upscale steps=4 clip.mp4`` took
    ``steps=4`` for the input. For a subcommand that takes overrides, the ``key=value`` words
    not right after an option (where they are that option's value, e.g. ``--prompt a=b``) are
    set aside before parsing (after a switch such as ``--dry-run``, which takes none, too);
    words argparse leaves over that look like ``key=value`` join them. Anything else is still
    an error. (``parse_intermixed_args``
    does not take subparsers.)"""
    argv = list(sys.argv[1:] if argv is None else argv)
    # ``--config=X`` as two words: the same to a command with a --config option, and to ``video
    # train``, whose config is its first word, X fills that word so the --config hint is given
    # (as one word argparse stopped at "the following arguments are required: config")
    argv = [w for word in argv for w in (
        ["--config", word[9:]] if word.startswith("--config=") and not word[9:].startswith("-") else [word])]
    first, _ = parser.parse_known_args(argv)
    pulled: list[str] = []
    if isinstance(getattr(first, "overrides", None), list):
        kept, no_value = [], switches(parser)
        for i, word in enumerate(argv):
            prev = argv[i - 1] if i else ""
            takes_it = prev.startswith("-") and "=" not in prev and prev not in no_value
            (pulled if OVERRIDE.match(word) and not takes_it else kept).append(word)
        argv = kept
    args, extra = parser.parse_known_args(argv)
    rest = []
    if isinstance(getattr(args, "overrides", None), list):  # a copy: none given, it is the default list
        args.overrides = pulled + args.overrides
    for word in extra:
        if OVERRIDE.match(word) and isinstance(getattr(args, "overrides", None), list):
            args.overrides.append(word)
        else:
            rest.append(word)
    if rest:
        chosen = chosen_parser(parser, args)
        chosen.error(unknown_words_message(chosen, rest, parser, argv))
    return args


def chosen_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the (sub)command ``args`` chose, the deepest one named (``video edit
    inpaint``: inpaint's), so an error shows that command's usage, not the top level's."""
    while True:
        action = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        name = getattr(args, action.dest, None) if action is not None else None
        if name not in getattr(action, "choices", {}):
            return parser
        parser = action.choices[name]


def schema_keys(schema) -> set[str]:
    """Every key of a dataclass schema, nested groups as dotted keys (``optim.lr``)."""
    import dataclasses

    keys = set()
    for f in dataclasses.fields(schema):
        keys.add(f.name)
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if dataclasses.is_dataclass(default):
            keys |= {f"{f.name}.{k}" for k in schema_keys(type(default))}
    return keys


def takes_key_values(parser: argparse.ArgumentParser, keys: Callable[[], set[str]]) -> None:
    """Mark ``parser`` as a command whose settings are ``key=value`` words, not flags (``video
    train``): ``--steps 3`` there is answered with ``steps=3``. ``keys``: its config keys, read
    only when such an error is reported."""
    parser._config_keys = keys  # type: ignore[attr-defined]


def _subcommands(parser: argparse.ArgumentParser) -> tuple[str, dict[str, argparse.ArgumentParser]]:
    """The metavar (``TASK``, else ``COMMAND``) and the subcommands of ``parser`` by name, each
    parser once (an alias repeats one); none for a command without subcommands."""
    action = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    if action is None:
        return "COMMAND", {}
    seen, subs = set(), {}
    for name, sub in action.choices.items():
        if id(sub) not in seen:
            seen.add(id(sub))
            subs[name] = sub
    return action.metavar or "COMMAND", subs


def commands_taking(root: argparse.ArgumentParser, option: str,
                    skip: argparse.ArgumentParser | None = None) -> list[str]:
    """The commands under ``root`` (but ``skip``) that take ``option``, named as typed after
    ``video`` (``txt2vid``, ``edit recolour``); ``edit TASK`` where every task of ``edit`` takes
    it, rather than each task by name."""
    metavar, subs = _subcommands(root)
    found = []
    for name, sub in subs.items():
        if _subcommands(sub)[1]:
            inner = commands_taking(sub, option, skip)
            every = len(inner) == len(_subcommands(sub)[1]) and all(" " not in x for x in inner)
            found += [f"{name} {_subcommands(sub)[0]}"] if every else [f"{name} {x}" for x in inner]
        elif sub is not skip and option in sub._option_string_actions and (
                sub._option_string_actions[option].option_strings[0] == option):  # not an old name, not -o
            found.append(name)
    return found


def _other_commands_hint(root: argparse.ArgumentParser | None, parser: argparse.ArgumentParser,
                         name: str) -> str | None:
    """"--shift is a txt2vid option" where ``name``, unknown to ``parser``, is an option of other
    commands under ``root``: the closest option of this command (``--shift`` -> ``--height``) was
    no help there. None where no other command takes it."""
    owners = commands_taking(root, name, parser) if root is not None and name.startswith("--") else []
    if not owners:
        return None
    if len(owners) == 1:
        return f"{name} is {'an' if owners[0][0] in 'aeiou' else 'a'} {owners[0]} option"
    return f"{name} is an option of {', '.join(owners[:-1])} and {owners[-1]}"


def _config_positional(parser: argparse.ArgumentParser) -> bool:
    """Whether ``parser`` takes its config as a positional word (``video train CONFIG``,
    ``cache-latents``) rather than as ``--config``."""
    return any(not a.option_strings and a.dest == "config" for a in parser._actions)


NEAR_TYPO = 0.8  # difflib ratio from which this command's own option is what was meant (--prompts: --prompt)


def _word_after(argv: list[str], word: str) -> str:
    """The word after ``word`` in ``argv`` where it is not an option; empty otherwise."""
    i = argv.index(word) + 1 if word in argv else len(argv)
    return argv[i] if i < len(argv) and not argv[i].startswith("-") else ""


def unknown_words_message(parser: argparse.ArgumentParser, words: list[str],
                          root: argparse.ArgumentParser | None = None, argv: list[str] | None = None) -> str:
    """``unrecognized arguments: WORDS`` with what was meant: the closest option of this
    command (difflib over its option strings: ``--stpes`` -> ``--steps``), or, on a command
    that takes ``key=value`` settings (:func:`takes_key_values`), ``--steps 3`` -> ``steps=3``.
    ``root``: the whole ``video`` parser; an option of another command under it is named as
    that command's (:func:`_other_commands_hint`), not matched to a look-alike of this one.
    ``--config`` on a command whose config is its first word (``video train``) says so, with the
    path from ``argv`` (the whole command line), where argparse took it as that word."""
    config_keys = getattr(parser, "_config_keys", None)
    keys = config_keys() if config_keys is not None else set()
    options = [o for a in parser._actions if a.help != argparse.SUPPRESS for o in a.option_strings]
    settings, meant, elsewhere = [], [], []
    for i, word in enumerate(words):
        if not word.startswith("-") or word == "-" or re.fullmatch(r"-[\d.]+", word):
            continue
        name, eq, value = word.partition("=")
        key = name.lstrip("-").replace("-", "_")
        if key in keys:
            if not eq:
                nxt = words[i + 1] if i + 1 < len(words) else ""
                value = nxt if nxt and not nxt.startswith("-") else "VALUE"
            settings.append(f"{key}={value}")
            continue
        if name == "--config" and _config_positional(parser):  # video train --config my.yaml
            elsewhere.append(f"{parser.prog} takes the YAML path as its first word, without --config: "
                             f"{parser.prog} {value or _word_after(argv or words, word) or 'CONFIG.yaml'}")
            continue
        close = difflib.get_close_matches(name, options, n=1)
        near = close and difflib.SequenceMatcher(None, name, close[0]).ratio() >= NEAR_TYPO
        other = None if near else _other_commands_hint(root, parser, name)  # a near typo of ours comes first
        if other is not None:
            elsewhere.append(other)
        if close and (other is None or near):
            meant.append(close[0])
    hints = ([f"settings are key=value words here: {' '.join(settings)}"] if settings else []) + elsewhere + (
        [f"did you mean {' '.join(meant)}?"] if meant else [])
    said = f"unrecognized arguments: {' '.join(words)}"
    return f"{said} ({'; '.join(hints)})" if hints else said
