"""Strawberry's schema-extension hooks, worked out once per extension class, not once per request.

Strawberry makes a context manager per phase (operation, parsing, validation, executing) for
every request, and for each extension it looks at the hook (`inspect.isgeneratorfunction` ...)
and wraps it anew with `contextlib.contextmanager` (which copies the function's metadata with
`functools.update_wrapper`); every phase then runs its hooks in an `AsyncExitStack`, even a phase
no extension hooks into. Together that was about a tenth of the cheapest request's time. Here the
hook's kind and its wrapper are cached per (extension class, phase), a request only binds them to
its extension instances, and a phase without hooks does nothing. Behaviour is Strawberry's: the
same hooks run in the same order with the same exception handling (the wrapped generators are
`contextlib`'s). Written so it could go upstream as a change to `strawberry.extensions.context`.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    ExtensionContextManagerBase,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
    WrappedHook,
)
from strawberry.extensions.runner import SchemaExtensionsRunner

# What a phase's hook on an extension class is: absent (None), a generator wrapped once (its
# context-manager factory taking the extension, and whether it is async), or something else that
# Strawberry's own `get_hook` wraps per request (plain callables: none of ours).
HookPlan = tuple[Callable[[SchemaExtension], Any], bool] | None
_STRAWBERRYS_OWN: HookPlan = (lambda extension: None, False)


_plans: dict[tuple[type[SchemaExtension], str], HookPlan] = {}


def _plan(extension_class: type[SchemaExtension], hook_name: str) -> HookPlan:
    key = (extension_class, hook_name)
    if key not in _plans:
        hook = getattr(extension_class, hook_name)
        if hook is getattr(SchemaExtension, hook_name):
            _plans[key] = None
        elif inspect.isgeneratorfunction(hook):
            _plans[key] = contextlib.contextmanager(hook), False
        elif inspect.isasyncgenfunction(hook):
            _plans[key] = contextlib.asynccontextmanager(hook), True
        else:
            _plans[key] = _STRAWBERRYS_OWN
    return _plans[key]


class _PlannedHooks(ExtensionContextManagerBase):
    __slots__ = ()

    def get_hook(self, extension: SchemaExtension) -> WrappedHook | None:
        plan = _plan(type(extension), self.HOOK_NAME)
        if plan is None:
            return None
        if plan is _STRAWBERRYS_OWN:
            return super().get_hook(extension)
        factory, is_async = plan
        return WrappedHook(extension=extension, hook=functools.partial(factory, extension), is_async=is_async)

    def __enter__(self) -> None:
        if self.hooks:
            super().__enter__()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc_val: BaseException | None, exc_tb: TracebackType | None
    ) -> None:
        if self.hooks:
            super().__exit__(exc_type, exc_val, exc_tb)

    async def __aenter__(self) -> None:
        if self.hooks:
            await super().__aenter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc_val: BaseException | None, exc_tb: TracebackType | None
    ) -> None:
        if self.hooks:
            await super().__aexit__(exc_type, exc_val, exc_tb)


class _Operation(_PlannedHooks, OperationContextManager):
    __slots__ = ()


class _Parsing(_PlannedHooks, ParsingContextManager):
    __slots__ = ()


class _Validation(_PlannedHooks, ValidationContextManager):
    __slots__ = ()


class _Executing(_PlannedHooks, ExecutingContextManager):
    __slots__ = ()


class PlannedExtensionsRunner(SchemaExtensionsRunner):
    """Strawberry's runner with the phases above (streamed results keep Strawberry's own)."""

    def operation(self) -> OperationContextManager:
        return _Operation(self.extensions)

    def validation(self) -> ValidationContextManager:
        return _Validation(self.extensions)

    def parsing(self) -> ParsingContextManager:
        return _Parsing(self.extensions)

    def executing(self) -> ExecutingContextManager:
        return _Executing(self.extensions)
