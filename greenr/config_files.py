"""Run-parameter files (configs/*.yaml) read into validated models, with one-line errors.

A person who mistypes `--set fine_tune.epoch=10` or `--config configs/trainig.yaml` gets one line
that names the file or the parameter and what is wrong with it, not a pydantic or yaml traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)

_MAX_SHOWN = 60  # characters of a wrong value quoted back


class ConfigFileError(ValueError):
    """A run-parameter file or override is wrong; the message is one line and names it."""


def read_mapping(path: Path) -> dict[str, Any]:
    """The YAML mapping in `path` (an empty file is an empty mapping).

    Raises:
        ConfigFileError: the file is missing or unreadable, is not YAML, or is not a mapping.
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigFileError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigFileError(f"{path}: cannot be read ({error})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigFileError(f"{path}: not valid YAML ({_yaml_problem(error)})") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigFileError(f"{path}: must hold a YAML mapping of parameters, not a {type(data).__name__}")
    return dict(data)


def validated(model: type[Model], data: Mapping[str, Any], source: str) -> Model:
    """`model` validated from `data`; `source` names where the values came from in the error.

    Raises:
        ConfigFileError: one line listing every wrong parameter.
    """
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ConfigFileError(f"{source}: {describe(error)}") from None


def describe(error: ValidationError) -> str:
    """Every problem of a validation error on one line: `dotted.name: what is wrong (got value)`."""
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(the whole file)"
        if item["type"] == "extra_forbidden":
            problems.append(f"{where}: unknown parameter")
            continue
        shown = repr(item.get("input"))
        if len(shown) > _MAX_SHOWN:
            shown = shown[: _MAX_SHOWN - 3] + "..."
        problems.append(f"{where}: {item['msg']} (got {shown})")
    return "; ".join(problems)


def _yaml_problem(error: yaml.YAMLError) -> str:
    problem = getattr(error, "problem", None)
    mark = getattr(error, "problem_mark", None)
    if problem and mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return " ".join(str(error).split())
