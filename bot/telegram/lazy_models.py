"""aiogram's Telegram types and methods built as they are first used, not all at import.

aiogram declares its ~400 Telegram types with pydantic's ``defer_build``, then calls
``model_rebuild`` on every one of them at the end of ``aiogram.types`` (to resolve their
forward references), which builds every validator at once; its ~190 API methods are built
as their classes are made. On this machine that is 110 MB of the bot's memory and about
3.5 seconds of its start (aiogram issues #1513 and #1891), for a bot that validates a
handful of types (Update, Message, CallbackQuery…) and calls a dozen methods.

``defer_aiogram_models()`` installs an import hook that patches two of aiogram's modules as
they load:

* ``aiogram.types.base``: ``TelegramObject`` gets a ``model_rebuild`` that *keeps* the
  namespace aiogram passes instead of building with it. pydantic's own lazy build (the
  first validation of a type) calls ``model_rebuild`` again, and the type is built with
  exactly that namespace. A type first built inside another model (``SendMessage`` holds a
  ``Message``) is resolved from its module, so the names its annotations import only for
  type checkers (``if TYPE_CHECKING:``) are bound there too, to the same objects;
* ``aiogram.methods.base``: ``TelegramMethod``'s config gets ``defer_build``, which the
  methods inherit.

The validators are the same as with eager builds, only made later:
``tests/unit/test_lazy_models.py`` builds every method and type both ways, methods first,
and compares their schemas and what they validate. The hook acts only when installed
before anything imports aiogram (the composition root installs it); otherwise nothing
changes.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import re
import sys
from types import ModuleType
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def defer_aiogram_models() -> bool:
    """Install the hook; False when aiogram's types are already imported (too late)."""
    if any(name in sys.modules for name in ("aiogram.types", "aiogram.methods", *TARGETS)):
        return False
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
    return True


def _deferring_rebuild(original: Any) -> Any:
    namespaces: dict[type, dict[str, Any]] = {}
    last: list[dict[str, Any]] = []

    def model_rebuild(cls: type, *, force: bool = False, raise_errors: bool = True,
                      _parent_namespace_depth: int = 2,
                      _types_namespace: dict[str, Any] | None = None) -> bool | None:
        if _types_namespace is not None and not force and not cls.__pydantic_complete__:
            # aiogram's import-time loop: remember the namespace, build on first use
            # (an equal namespace is shared: older aiogram passes a new dict per type).
            if not (last and last[0] == _types_namespace):
                last[:] = [dict(_types_namespace)]
            namespaces[cls] = last[0]
            _complete_module(cls, last[0])
            return None
        if _types_namespace is None:
            _types_namespace = next((namespaces[k] for k in cls.__mro__ if k in namespaces),
                                    None)
        return original.__func__(cls, force=force, raise_errors=raise_errors,
                                 _parent_namespace_depth=_parent_namespace_depth + 1,
                                 _types_namespace=_types_namespace)

    return classmethod(model_rebuild)


def _complete_module(cls: type, namespace: dict[str, Any]) -> None:
    """Bind, in the type's module, the names its annotations use that the module imports
    only for type checkers (``if TYPE_CHECKING:``), to the objects aiogram's namespace
    gives. A type built inside another model's schema (a method's, a response's) is
    resolved from its module, not from ``model_rebuild``'s namespace."""
    module = sys.modules.get(cls.__module__)
    if module is None:
        return
    names = vars(module)
    for klass in cls.__mro__:  # inherited fields are resolved in the subclass's module
        for annotation in vars(klass).get("__annotations__", {}).values():
            if not isinstance(annotation, str):
                continue
            for name in _NAME.findall(annotation):
                if name not in names and name in namespace:
                    names[name] = namespace[name]


def _defer_types(module: ModuleType) -> None:
    base = getattr(module, "TelegramObject", None)
    original = getattr(base, "model_rebuild", None)
    if base is None or getattr(original, "__func__", None) is None:
        return  # not the aiogram this was written for: leave it eager
    base.model_rebuild = _deferring_rebuild(original)


def _defer_methods(module: ModuleType) -> None:
    """Methods inherit their config when their class is made: deferred like the types."""
    config = getattr(getattr(module, "TelegramMethod", None), "model_config", None)
    if isinstance(config, dict):
        config["defer_build"] = True


TARGETS = {"aiogram.types.base": _defer_types, "aiogram.methods.base": _defer_methods}


class _Loader(importlib.abc.Loader):
    """The module's own loader, then the patch (everything else is delegated)."""

    def __init__(self, loader: Any, patch: Any) -> None:
        self._loader = loader
        self._patch = patch

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._patch(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self._pending = dict(TARGETS)

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        patch = self._pending.pop(fullname, None)
        if patch is None:
            return None
        if not self._pending:
            sys.meta_path.remove(self)  # each once is enough
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader, patch)
        return spec
