"""Profiles (smoke / cpu / full) and the chapter configuration they resolve.

Each chapter module declares one dataclass of its parameters, a subclass of `ChapterConfig`,
with each parameter's smoke / cpu / full values side by side:

    @dataclass
    class Config(ChapterConfig):
        epochs: int = knob(smoke=2, cpu=20, full=5, low=1, doc="passes over the data")
        lr_d: float = knob(2e-4, low=0, high=1, doc="Adam learning rate of D")

The notebook's parameters cell sets `profile = "auto"` and every knob to None; the next cell calls
`Config.resolve(profile, **knobs)`: profile values overridden by every non-None parameter, each
checked (type, allowed values, range) before any work, with an error naming the parameter, the
value and what is allowed. `auto` means $LABKIT_PROFILE if set, else `full` when CUDA is
available, else `cpu`. A fourth profile, `gpu-offline`, is `full`'s scale on the offline data: each
knob takes its `offline=` value, else full's. A chapter falls back to it when `auto` chose `full`
and the real data cannot be obtained (`ChapterConfig.fallback`, `chapters.common.obtain`).
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import difflib
import os
import types
import typing
from dataclasses import MISSING, dataclass, field

import torch

PROFILES = ("smoke", "cpu", "full", "gpu-offline")
DEVICES = ("auto", "cpu", "cuda", "mps")


def gpu_available() -> bool:
    """Whether `auto` sees a GPU (CUDA). The one place the profile choice asks."""
    return torch.cuda.is_available()


def profile_name(profile: str = "auto") -> str:
    """Resolve `auto` to $LABKIT_PROFILE, else full on CUDA, else cpu; validate the name."""
    if profile == "auto":
        profile = os.environ.get("LABKIT_PROFILE") or ("full" if gpu_available() else "cpu")
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {PROFILES} or 'auto'")
    return profile


def knob(value=MISSING, *, smoke=MISSING, cpu=MISSING, full=MISSING, offline=MISSING,
         choices=None, low=None, high=None, doc: str = ""):
    """A chapter parameter: one value for every profile, or its smoke / cpu / full values
    (`offline`: its gpu-offline value where that differs from full's: the data knobs).

    `choices` lists the allowed values (of the value, or of each item of a list); `low` and
    `high` bound a number (inclusive; None: open). `doc` says what it is, in a few words.
    """
    values = {p: v for p, v in zip(PROFILES, (smoke, cpu, full)) if v is not MISSING}
    if value is not MISSING:
        values = {p: values.get(p, value) for p in PROFILES[:3]}
    missing = [p for p in PROFILES[:3] if p not in values]
    if missing:
        raise TypeError(f"knob(): no value for the profile(s) {missing}")
    values["gpu-offline"] = values["full"] if offline is MISSING else offline
    return field(default=None, metadata={"profiles": values, "choices": choices, "low": low,
                                         "high": high, "doc": doc})


@dataclass
class ChapterConfig:
    """The parameters every chapter has; a chapter's Config adds its own knobs."""

    profile: str = "cpu"  # the resolved profile (not a knob: set by `resolve`)
    # True when `auto` chose full (a GPU, no $LABKIT_PROFILE): missing real data then falls
    # back to gpu-offline instead of stopping the notebook (not a knob: set by `resolve`)
    fallback: bool = False
    by_hand: tuple[str, ...] = ()  # the knobs given a value (not None) when resolving
    seed: int = knob(0, low=0, doc="random seed of the run")
    device: str = knob("auto", doc='"auto", "cuda", "cuda:N", "mps" or "cpu"')
    data_root: str | None = knob(None, doc="where datasets live (else $LABKIT_DATA)")
    out_dir: str | None = knob(None, doc="parent of the run folder (else $LABKIT_RUNS, ./runs)")
    resume: bool | str = knob(False, doc="True continues the latest run after a disconnect")

    # -------------------------------------------------------------- resolution

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The knobs: the notebook's parameters besides `profile`."""
        return tuple(f.name for f in dataclasses.fields(cls) if "profiles" in f.metadata)

    @classmethod
    def defaults(cls, profile: str) -> dict:
        """The profile's value of every knob (deep copies)."""
        profile = profile_name(profile)
        return {f.name: copy.deepcopy(f.metadata["profiles"][profile])
                for f in dataclasses.fields(cls) if "profiles" in f.metadata}

    @classmethod
    def resolve(cls, profile: str = "auto", **params):
        """The configuration: the profile's values overridden by every non-None parameter,
        each checked; a ValueError names any unknown or invalid parameter."""
        name = profile_name(profile)
        known = cls.names()
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(_unknown(unknown, known, cls.__module__))
        values = cls.defaults(name)
        hints = typing.get_type_hints(cls)
        by_name = {f.name: f for f in dataclasses.fields(cls)}
        for key, value in params.items():
            if value is not None:
                values[key] = _checked(key, value, hints[key], by_name[key].metadata)
        chosen = profile == "auto" and not os.environ.get("LABKIT_PROFILE") and name == "full"
        given = tuple(sorted(k for k, v in params.items() if v is not None))
        config = cls(profile=name, fallback=chosen, by_hand=given, **values)
        config.validate()
        return config

    @classmethod
    def from_notebook(cls, profile: str, namespace: dict):
        """The configuration of a notebook run: its parameters read from the notebook's
        globals, as `resolve` reads them; a name that papermill injected (`-p name value`) but
        that is no parameter — a misspelling such as `-p epcohs 3` — is an error too."""
        injected = injected_parameters(namespace.get("In", []))
        unknown = sorted(set(injected) - set(cls.names()) - {"profile"})
        if unknown:
            raise ValueError(_unknown(unknown, cls.names(), cls.__module__))
        return cls.resolve(profile, **{k: namespace.get(k) for k in cls.names()})

    def validate(self) -> None:
        """Checks across parameters; a chapter overrides this (raise ValueError)."""
        if self.device not in DEVICES and not str(self.device).startswith("cuda:"):
            raise ValueError(f"parameter device={self.device!r}: use one of {DEVICES} or "
                             "'cuda:N'")

    # -------------------------------------------------------------- use

    def to_dict(self) -> dict:
        """Every parameter, and the profile, as a dict."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in ("fallback", "by_hand")}

    def replace(self, **changes):
        """A copy with some parameters changed, checked like `resolve`."""
        params = {k: getattr(self, k) for k in self.names()}
        copied = type(self).resolve(self.profile, **{**params, **changes})
        given = tuple(sorted({*self.by_hand, *(k for k, v in changes.items() if v is not None)}))
        return dataclasses.replace(copied, fallback=self.fallback, by_hand=given)

    def offline(self):
        """This configuration at gpu-offline: full's scale on the offline data, keeping every
        parameter set by hand."""
        return type(self).resolve("gpu-offline", **{k: getattr(self, k) for k in self.by_hand})

    def changed(self) -> dict:
        """The parameters whose values differ from this profile's."""
        defaults = self.defaults(self.profile)
        return {k: getattr(self, k) for k in self.names() if getattr(self, k) != defaults[k]}

    def show(self, hide: tuple[str, ...] = ()) -> None:
        """Print the configuration as a two-column table (values set by hand marked *)."""
        changed = self.changed()
        shown = {k: v for k, v in self.to_dict().items() if k not in hide}
        width = max(map(len, shown))
        print(f"{'parameter':<{width}}  value")
        print(f"{'-' * width}  -----")
        for key, value in shown.items():
            mark = "   *" if key in changed else ""
            print(f"{key:<{width}}  {value!r}{mark}")
        if changed:
            print(f"(* set by hand; the rest are the {self.profile!r} profile's values)")


def injected_parameters(history: list[str]) -> list[str]:
    """The names papermill assigned in the cell it injects ("# Parameters" first), found in
    IPython's input history `In`."""
    names = []
    for source in history:
        if isinstance(source, str) and source.lstrip().startswith("# Parameters"):
            tree = ast.parse(source)
            names += [t.id for node in tree.body if isinstance(node, ast.Assign)
                      for t in node.targets if isinstance(t, ast.Name)]
    return names


def _unknown(unknown: list[str], known, where: str) -> str:
    """The error for parameters a chapter does not have, with the closest names."""
    hints = [f"{name!r} (did you mean {close[0]!r}?)"
             if (close := difflib.get_close_matches(name, known, n=1)) else repr(name)
             for name in unknown]
    return (f"unknown parameter(s) {', '.join(hints)} for {where}; known: {sorted(known)}")


def _checked(key: str, value, hint, meta: dict):
    """`value` if it fits the knob's type, choices and range (ints accepted for floats)."""
    value = _coerce(value, hint)
    if not _fits(value, hint):
        raise ValueError(f"parameter {key}={value!r} should be {_describe(hint)}")
    choices = meta.get("choices")
    items = value if isinstance(value, list) else [value]
    if choices is not None and not all(item in choices for item in items):
        raise ValueError(f"parameter {key}={value!r}: allowed values are {list(choices)}")
    low, high = meta.get("low"), meta.get("high")
    for item in items:
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            if (low is not None and item < low) or (high is not None and item > high):
                bounds = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
                raise ValueError(f"parameter {key}={value!r} must lie in {bounds}")
    return value


def _args(hint) -> tuple:
    return typing.get_args(hint)


def _is_union(hint) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _coerce(value, hint):
    """Ints where floats are expected become floats (also inside lists)."""
    if _is_union(hint):
        for option in _args(hint):
            if _fits(value, option):
                return value
        return next((_coerce(value, o) for o in _args(hint) if o is float), value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typing.get_origin(hint) is list and isinstance(value, (list, tuple)):
        (item,) = _args(hint) or (typing.Any,)
        return [_coerce(v, item) for v in value]
    return value


def _fits(value, hint) -> bool:
    if hint is typing.Any:
        return True
    if hint is type(None):
        return value is None
    if _is_union(hint):
        return any(_fits(value, option) for option in _args(hint))
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = _args(hint) or (typing.Any,)
        return isinstance(value, list) and all(_fits(v, item) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if hint is float:
        return isinstance(value, float)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _describe(hint) -> str:
    if _is_union(hint):
        return " or ".join(_describe(o) for o in _args(hint))
    if hint is type(None):
        return "None"
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = _args(hint) or (typing.Any,)
        return f"a list of {_describe(item)}"
    if origin is dict:
        return "a dict"
    return getattr(hint, "__name__", str(hint))
