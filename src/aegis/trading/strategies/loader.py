"""Finding a strategy by name: the built-ins, then ``*.py`` files in the strategies folder
(``AEGIS_TRADING_STRATEGIES_DIR``); a file defines one or more ``Strategy`` subclasses, each
known by its ``name``."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

from aegis.core.errors import InvalidRequest, NotFound
from aegis.trading.strategies.base import Strategy
from aegis.trading.strategies.builtin import BUILTINS


def user_strategies(folder: Path | None) -> dict[str, type[Strategy]]:
    found: dict[str, type[Strategy]] = {}
    if folder is None or not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"aegis_user_strategy_{path.stem}", path)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise InvalidRequest(f"strategy file {path.name} failed to load: {exc}") from exc
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Strategy) and obj is not Strategy and not inspect.isabstract(obj):
                found[obj.name] = obj
    return found


def available(folder: Path | None = None) -> dict[str, type[Strategy]]:
    return {**BUILTINS, **user_strategies(folder)}


def load(name: str, folder: Path | None = None, **params: object) -> Strategy:
    classes = available(folder)
    cls = classes.get(name)
    if cls is None:
        raise NotFound(f"no strategy {name!r} (known: {', '.join(sorted(classes))})")
    try:
        return cls(**params)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from exc
