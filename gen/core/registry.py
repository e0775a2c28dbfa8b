"""Heads, named recipes and config (de)serialisation.

A head registers itself on import with ``register_head``: its config dataclass, its model
class and, as lazily imported "module:function" references (so that ``import gen`` stays
light), its data builder, evaluator, card section and io module. ``register_recipe`` names a
ready-to-train plain value (model config + training config + data options), like Magenta's
CONFIG_MAP. The core never imports a head: ``import gen`` imports the heads, which fills
these tables.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import typing
from dataclasses import dataclass, field
from typing import Any

from gen.core.errors import ConfigError
from gen.core.trainer import TrainConfig


@dataclass(frozen=True)
class Head:
    """What the core and the front ends need to know about one head.

    The callables are "module:attribute" strings, imported on first use:
    - ``data(model_config, rank, world_size, **recipe.data) -> (train_ds, eval_ds)``;
    - ``evaluate(model, data=None, split="test", **options) -> dict`` (the numbers of a card);
    - ``card(model, results) -> str``: the head's markdown section of a model card;
    - ``io``: a module with ``read(model, specs, indices)``, ``write(model, outputs, out_dir,
      stem, titles, options)`` and ``describe(model)`` for the generic CLI verbs.
    ``data_option``: the recipe data key that ``gen train --data DIR`` sets.
    """

    name: str
    config: type
    model: type
    data: str
    evaluate: str
    card: str
    io: str
    data_option: str = "source"

    def resolve(self, what: str) -> Any:
        """Import one of the head's "module:function" references and return the function."""
        module, _, attr = getattr(self, what).partition(":")
        return getattr(importlib.import_module(module), attr)

    def call(self, what: str, *args: Any, **kwargs: Any) -> Any:
        """Import and call one of the head's "module:function" references."""
        return self.resolve(what)(*args, **kwargs)

    def io_module(self) -> Any:
        """The head's io module (imported on first use)."""
        return importlib.import_module(self.io)


@dataclass(frozen=True)
class Recipe:
    """Everything needed to train one named model from scratch."""

    name: str
    model: Any  # a registered model config dataclass
    train: TrainConfig = field(default_factory=TrainConfig)
    data: dict[str, Any] = field(default_factory=dict)  # keyword arguments of the data builder
    description: str = ""


_HEADS: dict[str, Head] = {}  # config class name -> head
_RECIPES: dict[str, Recipe] = {}


def _ensure_heads() -> None:
    """Import gen.heads (the list of heads) once, so that every head is registered."""
    importlib.import_module("gen.heads")


def register_head(head: Head) -> None:
    """Add a head; its config class name must be new."""
    key = head.config.__name__
    if key in _HEADS:
        raise ConfigError(f"config type {key!r} is registered twice")
    _HEADS[key] = head


def heads() -> list[Head]:
    """All registered heads."""
    _ensure_heads()
    return list(_HEADS.values())


def head_of(config_or_model: Any) -> Head:
    """The head of a config dataclass or of a model (anything with ``.config``)."""
    _ensure_heads()
    cfg = getattr(config_or_model, "config", config_or_model)
    key = type(cfg).__name__
    if key not in _HEADS:
        raise ConfigError(f"no head is registered for config type {key!r}")
    return _HEADS[key]


def register_recipe(recipe: Recipe) -> None:
    """Add a named recipe; names are unique."""
    if recipe.name in _RECIPES:
        raise ConfigError(f"recipe {recipe.name!r} is registered twice")
    head_of(recipe.model)  # its head must exist
    _RECIPES[recipe.name] = recipe


def recipes() -> dict[str, Recipe]:
    """All registered recipes by name."""
    _ensure_heads()
    return dict(_RECIPES)


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; a ConfigError lists the known names otherwise."""
    _ensure_heads()
    if name not in _RECIPES:
        raise ConfigError(f"unknown config {name!r}; known configs: {', '.join(sorted(_RECIPES))}")
    return _RECIPES[name]


def build_model(config: Any) -> Any:
    """Instantiate the model class of ``config``'s head."""
    return head_of(config).model(config)


def build_data(recipe: Recipe, rank: int = 0, world_size: int = 1) -> tuple[Any, Any]:
    """(train_dataset, eval_dataset) for a recipe, via its head's data builder."""
    return head_of(recipe.model).call("data", recipe.model, rank=rank, world_size=world_size,
                                      **recipe.data)


# ----------------------------------------------------------------------------- serialisation
def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain JSON-able dict of a config dataclass (nested ones too), tagged with its type."""
    return {"config_type": type(config).__name__, **dataclasses.asdict(config)}


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(cls: type, d: dict[str, Any], source: str) -> Any:
    """cls(**d) with nested dataclasses rebuilt, unknown fields and bad values refused."""
    d = dict(d)
    for old, new in getattr(cls, "RENAMED", {}).items():  # fields of older releases
        if old in d:
            head, _, rest = new.partition(".")
            if rest:
                d.setdefault(head, {})[rest] = d.pop(old)
            else:
                d[new] = d.pop(old)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ConfigError(f"{source}: unknown field(s) {unknown} for {cls.__name__}")
    types = _field_types(cls)
    for k, v in list(d.items()):
        t = types.get(k)
        if dataclasses.is_dataclass(t) and isinstance(v, dict):
            d[k] = _build(t, v, f"{source}: {k}")
        elif isinstance(v, list):  # JSON turns tuples into lists
            d[k] = tuple(v)
    try:
        return cls(**d)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{source}: invalid {cls.__name__}: {e}") from e


def config_from_dict(d: dict[str, Any], source: str = "config") -> Any:
    """Rebuild a config dataclass from ``config_to_dict`` output; unknown fields are errors."""
    _ensure_heads()
    d = dict(d)
    kind = d.pop("config_type", None)
    if kind not in _HEADS:
        raise ConfigError(
            f"{source}: field 'config_type' is {kind!r}; expected one of {sorted(_HEADS)}"
        )
    return _build(_HEADS[kind].config, d, source)


def config_json(config: Any) -> str:
    """The config as indented JSON text."""
    return json.dumps(config_to_dict(config), indent=2, sort_keys=True)


# ----------------------------------------------------------------------------- overrides
def _parse(value: str, typ: Any, key: str) -> Any:
    """The text of a ``--set`` value as the field's type."""
    origin = typing.get_origin(typ)
    if typ is bool:
        if value.lower() in ("true", "1", "yes"):
            return True
        if value.lower() in ("false", "0", "no"):
            return False
        raise ConfigError(f"--set {key}={value}: expected true or false")
    if typ in (int, float):
        try:
            num = float(value) if typ is float else int(value)
        except ValueError:
            want = "a whole number" if typ is int else "a number"
            raise ConfigError(f"--set {key}={value}: expected {want}") from None
        if typ is float and num != num or num in (float("inf"), float("-inf")):
            raise ConfigError(f"--set {key}={value}: expected a finite number")
        return num
    if typ is str:
        return value
    if origin is tuple:
        return tuple(x for x in value.split(",") if x)
    try:  # data options: JSON when it parses (numbers, true/false, null), else text
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _settable(recipe: Recipe) -> dict[str, tuple[str, Any]]:
    """Every settable key -> (dotted path, type): train.*, model.*, model.<nested>.*."""
    out: dict[str, tuple[str, Any]] = {}
    for f in dataclasses.fields(TrainConfig):
        out[f"train.{f.name}"] = (f"train.{f.name}", _field_types(TrainConfig)[f.name])
    mtypes = _field_types(type(recipe.model))
    for f in dataclasses.fields(recipe.model):
        t = mtypes[f.name]
        if dataclasses.is_dataclass(t):
            for g in dataclasses.fields(t):
                out[f"model.{f.name}.{g.name}"] = (f"model.{f.name}.{g.name}",
                                                   _field_types(t)[g.name])
        else:
            out[f"model.{f.name}"] = (f"model.{f.name}", t)
    return out


def apply_overrides(recipe: Recipe, items: list[str]) -> Recipe:
    """The recipe with ``KEY=VALUE`` overrides applied (``gen train --set``).

    KEY is a field of the training config (``lr``, ``batch_size`` ...), of the model config
    (``latent_dim``, ``kl.beta`` or just ``beta`` ...) or ``data.OPTION``; a bare name must
    match exactly one field. Unknown keys, wrong types and invalid values are ConfigErrors.
    """
    table = _settable(recipe)
    train = dataclasses.asdict(recipe.train)
    model = {f.name: getattr(recipe.model, f.name) for f in dataclasses.fields(recipe.model)}
    data = dict(recipe.data)
    for item in items:
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. --set lr=3e-4")
        if key.startswith("data."):
            data[key[5:]] = _parse(value, Any, key)
            continue
        matches = [p for p in table if p == key or p.endswith("." + key)]
        if len(matches) != 1:
            short = sorted({p.split(".", 1)[1] for p in table})
            why = "is ambiguous: " + ", ".join(matches) if matches else "is not a setting"
            raise ConfigError(f"--set {key}: {why}; settings of {recipe.name}: "
                              + ", ".join(short) + ", data.OPTION")
        path, typ = table[matches[0]]
        parts = path.split(".")
        v = _parse(value, typ, key)
        if parts[0] == "train":
            train[parts[1]] = v
        elif len(parts) == 2:
            model[parts[1]] = v
        else:
            model[parts[1]] = dataclasses.replace(model[parts[1]], **{parts[2]: v})
    try:
        new_train = TrainConfig(**train)
        new_model = type(recipe.model)(**model)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"--set: invalid value ({e})") from e
    return dataclasses.replace(recipe, train=new_train, model=new_model, data=data)
