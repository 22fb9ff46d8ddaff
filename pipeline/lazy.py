"""Lazy package exports: a stage's `__init__` names its public API without importing it.

A stage package whose modules import torch, Presidio or spaCy keeps `import pipeline.redact`
cheap (the CLI, settings and the audit report import it) by resolving each public name from its
submodule on first use, as PEP 562 allows.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str],
                 namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level `__getattr__` and `__dir__` for `package`.

    Args:
        package: the package's dotted name (`__name__`).
        exports: public name -> the submodule (relative to the package) that defines it.
        namespace: the package's `globals()`: a resolved name is cached there, so the next
            lookup is a plain attribute.

    Returns:
        (`__getattr__`, `__dir__`) to assign in the package's `__init__`.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
