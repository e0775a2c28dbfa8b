"""Named configs and the map from config classes to model classes.

Heads register themselves on import: ``register_model`` ties a config dataclass to the model
class it builds, and ``register_recipe`` names a ready-to-train plain value (model config +
training config + data options), like Magenta's CONFIG_MAP. The core never imports a head:
``import gen`` imports the heads, which fills these tables.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gen.core.errors import ConfigError
from gen.core.trainer import TrainConfig

_MODELS: dict[str, tuple[type, type]] = {}  # config class name -> (config class, model class)
_DATA: dict[str, Callable[..., Any]] = {}  # config class name -> data builder
_RECIPES: dict[str, Recipe] = {}


@dataclass(frozen=True)
class Recipe:
    """Everything needed to train one named model from scratch."""

    name: str
    model: Any  # a registered model config dataclass
    train: TrainConfig = field(default_factory=TrainConfig)
    data: dict[str, Any] = field(
        default_factory=dict
    )  # keyword arguments for the head's data builder
    description: str = ""


def register_model(config_cls: type, data_builder: Callable[..., Any] | None = None) -> Callable:
    """Class decorator: models built from ``config_cls`` are instances of the decorated class.

    ``data_builder(model_config, rank, world_size, **recipe.data)`` returns
    ``(train_dataset, eval_dataset)`` for the trainer.
    """

    def deco(model_cls: type) -> type:
        _MODELS[config_cls.__name__] = (config_cls, model_cls)
        if data_builder is not None:
            _DATA[config_cls.__name__] = data_builder
        return model_cls

    return deco


def register_recipe(recipe: Recipe) -> None:
    """Add a named recipe; names are unique."""
    if recipe.name in _RECIPES:
        raise ConfigError(f"recipe {recipe.name!r} is registered twice")
    _RECIPES[recipe.name] = recipe


def recipes() -> dict[str, Recipe]:
    """All registered recipes by name."""
    return dict(_RECIPES)


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; a ConfigError lists the known names otherwise."""
    if name not in _RECIPES:
        raise ConfigError(f"unknown config {name!r}; known configs: {', '.join(sorted(_RECIPES))}")
    return _RECIPES[name]


def build_model(config: Any) -> Any:
    """Instantiate the model class registered for ``type(config)``."""
    key = type(config).__name__
    if key not in _MODELS:
        raise ConfigError(f"no model is registered for config type {key!r}")
    return _MODELS[key][1](config)


def build_data(recipe: Recipe, rank: int = 0, world_size: int = 1) -> tuple[Any, Any]:
    """(train_dataset, eval_dataset) for a recipe, via its head's registered data builder."""
    key = type(recipe.model).__name__
    if key not in _DATA:
        raise ConfigError(f"no data builder is registered for config type {key!r}")
    return _DATA[key](recipe.model, rank=rank, world_size=world_size, **recipe.data)


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain JSON-able dict of a config dataclass, tagged with its type name."""
    return {"config_type": type(config).__name__, **dataclasses.asdict(config)}


def config_from_dict(d: dict[str, Any], source: str = "config") -> Any:
    """Rebuild a config dataclass from ``config_to_dict`` output; unknown fields are errors."""
    d = dict(d)
    kind = d.pop("config_type", None)
    if kind not in _MODELS:
        raise ConfigError(
            f"{source}: field 'config_type' is {kind!r}; expected one of {sorted(_MODELS)}"
        )
    cls = _MODELS[kind][0]
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - set(names))
    if unknown:
        raise ConfigError(f"{source}: unknown field(s) {unknown} for {kind}")
    for k, v in list(d.items()):  # JSON turns tuples into lists
        if isinstance(v, list):
            d[k] = tuple(v)
    try:
        return cls(**d)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{source}: invalid {kind}: {e}") from e


def config_json(config: Any) -> str:
    """The config as indented JSON text."""
    return json.dumps(config_to_dict(config), indent=2, sort_keys=True)
