"""Records: sous's value types, declared like dataclasses but cheap to declare.

    @record                     # frozen, keyword-only, slotted, compared and hashed by field
    class Notice:
        level: str
        text: str = ""
        seen: list[str] = field(default_factory=list)

    @record(frozen=False, kw_only=False)   # mutable, positional arguments allowed

Why not `dataclasses`: on Python 3.11 a frozen dataclass compiles six functions with `exec` when
its class is made (about 0.4 ms each class), and a `sous -p` run makes about ninety of them:
a third of its start-up. A record's methods are shared by every record and read the class's
fields (`__record_fields__`), so making one costs a few microseconds; an instance is made about
as fast. Type checkers read `record` as a dataclass maker (`dataclass_transform`).

What a record does, as a dataclass with the same options would: `__init__` (keyword-only unless
`kw_only=False`; defaults and `default_factory`; `__post_init__` when defined), `__repr__`,
`__eq__` (same class, equal compared fields), `__hash__` when frozen (unhashable otherwise),
`__match_args__`, `__slots__`, copying and pickling. Frozen records refuse assignment after
`__init__` (`FrozenRecordError`, an AttributeError). `fields()` and `replace()` are the
counterparts of the `dataclasses` functions, which take records too (`__dataclass_fields__` is
made when first read). Fields of a record base class come first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

__all__ = ["Field", "FrozenRecordError", "field", "fields", "record", "replace"]

_T = TypeVar("_T")
_MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


class FrozenRecordError(AttributeError):
    """An assignment to a field of a frozen record."""


class Field:
    """One field of a record: its name, default or `default_factory`, and whether `__init__`,
    `__repr__` and `__eq__` use it."""

    __slots__ = ("name", "default", "default_factory", "init", "repr", "compare")

    def __init__(
        self,
        *,
        default: Any = _MISSING,
        default_factory: Any = _MISSING,
        init: bool = True,
        repr: bool = True,
        compare: bool = True,
    ) -> None:
        if default is not _MISSING and default_factory is not _MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.default, self.default_factory = default, default_factory
        self.init, self.repr, self.compare = init, repr, compare

    @property
    def required(self) -> bool:
        return self.default is _MISSING and self.default_factory is _MISSING

    def initial(self) -> Any:
        return self.default if self.default_factory is _MISSING else self.default_factory()

    def __repr__(self) -> str:
        return f"Field({self.name!r})"


def field(
    *,
    default: Any = _MISSING,
    default_factory: Callable[[], Any] = _MISSING,
    init: bool = True,
    repr: bool = True,
    compare: bool = True,
) -> Any:
    """A field's options, as `dataclasses.field`: `x: list[str] = field(default_factory=list)`."""
    return Field(default=default, default_factory=default_factory, init=init, repr=repr, compare=compare)


@overload
def record(cls: type[_T], /) -> type[_T]: ...
@overload
def record(*, frozen: bool = True, kw_only: bool = True) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(field, Field))
def record(cls: Any = None, /, *, frozen: bool = True, kw_only: bool = True) -> Any:
    """Make `cls` a record (see the module's docstring)."""
    if cls is None:
        return lambda cls: _make(cls, frozen=frozen, kw_only=kw_only)
    return _make(cls, frozen=frozen, kw_only=kw_only)


def _is_classvar(annotation: Any) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar"))


def _make(cls: type, *, frozen: bool, kw_only: bool) -> type:
    inherited: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        inherited.update({f.name: f for f in getattr(base, "__record_fields__", ())})
    namespace = dict(cls.__dict__)
    own: dict[str, Field] = {}
    for name, annotation in namespace.get("__annotations__", {}).items():
        if _is_classvar(annotation):
            continue
        value = namespace.pop(name, _MISSING)
        spec = value if isinstance(value, Field) else Field(default=value)
        if spec.default is not _MISSING and type(spec.default).__hash__ is None:
            raise ValueError(f"mutable default {type(spec.default).__name__} for field {name}: use default_factory")
        spec.name = name
        own[name] = spec
    every = tuple({**inherited, **own}.values())
    positional = tuple(f for f in every if f.init) if not kw_only else ()
    defaulted = False
    for spec in positional:
        if spec.required and defaulted:
            raise TypeError(f"non-default argument {spec.name!r} follows default argument")
        defaulted = defaulted or not spec.required
    # A slot cannot share its name with a class attribute, and the class must be made again to
    # have slots (as dataclasses does with slots=True).
    namespace.pop("__dict__", None)
    namespace.pop("__weakref__", None)
    namespace["__slots__"] = tuple(own)
    namespace["__record_fields__"] = every
    # What `__init__` does for each field, worked out once here rather than for every instance.
    namespace["__record_plan__"] = tuple((f.name, f.init, f.default, f.default_factory) for f in every)
    namespace["__match_args__"] = tuple(f.name for f in positional)
    for name, method in _METHODS.items():
        if name not in cls.__dict__:
            namespace[name] = method
    if frozen:
        namespace.setdefault("__setattr__", _refuse_set)
        namespace.setdefault("__delattr__", _refuse_delete)
    if "__eq__" not in cls.__dict__ and "__hash__" not in cls.__dict__:
        namespace["__hash__"] = _hash if frozen else None  # as a dataclass: equal by value, so hashed only if frozen
    made = type(cls)(cls.__name__, cls.__bases__, namespace)
    made.__qualname__ = cls.__qualname__
    return made


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    cls = type(self)
    if args:
        positional = cls.__match_args__
        if len(args) > len(positional):
            given, takes = len(args) + 1, len(positional) + 1  # counting self, as Python does
            raise TypeError(f"{cls.__qualname__}.__init__() takes {takes} positional arguments but {given} were given")
        for name, value in zip(positional, args, strict=False):
            if name in kwargs:
                raise TypeError(f"{cls.__qualname__}.__init__() got multiple values for argument {name!r}")
            kwargs[name] = value
    missing = []
    assign = object.__setattr__  # a frozen record's own __setattr__ refuses
    for name, in_init, default, factory in cls.__record_plan__:
        if in_init and name in kwargs:
            assign(self, name, kwargs.pop(name))
        elif default is not _MISSING:
            assign(self, name, default)
        elif factory is not _MISSING:
            assign(self, name, factory())
        elif in_init:
            missing.append(name)
    if kwargs:
        raise TypeError(f"{cls.__qualname__}.__init__() got an unexpected keyword argument {next(iter(kwargs))!r}")
    if missing:
        names = ", ".join(repr(n) for n in missing)
        raise TypeError(f"{cls.__qualname__}.__init__() missing required argument(s): {names}")
    post_init = getattr(cls, "__post_init__", None)
    if post_init is not None:
        post_init(self)


def _values(self: Any, which: str) -> tuple[Any, ...]:
    return tuple(getattr(self, f.name) for f in type(self).__record_fields__ if getattr(f, which))


def _repr(self: Any) -> str:
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in type(self).__record_fields__ if f.repr)
    return f"{type(self).__qualname__}({shown})"


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _values(self, "compare") == _values(other, "compare")


def _hash(self: Any) -> int:
    return hash(_values(self, "compare"))


def _refuse_set(self: Any, name: str, value: Any) -> None:
    raise FrozenRecordError(f"cannot assign to field {name!r} of a frozen {type(self).__qualname__}")


def _refuse_delete(self: Any, name: str) -> None:
    raise FrozenRecordError(f"cannot delete field {name!r} of a frozen {type(self).__qualname__}")


def _getstate(self: Any) -> dict[str, Any]:
    """The fields that have a value (one outside `__init__` may have none yet), for copy and pickle."""
    return {f.name: getattr(self, f.name) for f in type(self).__record_fields__ if hasattr(self, f.name)}


def _setstate(self: Any, state: dict[str, Any]) -> None:
    for name, value in state.items():
        object.__setattr__(self, name, value)


class _AsDataclassFields:
    """`__dataclass_fields__`, made when first read: the `dataclasses` functions (`fields`,
    `asdict`, `replace`, `is_dataclass`) then take a record as they take a dataclass, as programs
    using sous's Python API may expect of its events and messages. Nothing is made at import."""

    def __get__(self, obj: Any, cls: type) -> dict[str, Any]:
        import dataclasses

        made = {}
        for spec in cls.__record_fields__:  # type: ignore[attr-defined]
            twin: Any = dataclasses.field(
                default=spec.default if spec.default is not _MISSING else dataclasses.MISSING,
                default_factory=spec.default_factory if spec.default_factory is not _MISSING else dataclasses.MISSING,
                init=spec.init,
                repr=spec.repr,
                compare=spec.compare,
            )
            twin.name = spec.name
            twin.type = cls.__annotations__.get(spec.name, Any)
            # What dataclasses marks a regular field with (not a ClassVar or InitVar); there is no public way.
            twin._field_type = dataclasses._FIELD  # type: ignore[attr-defined]
            made[spec.name] = twin
        type.__setattr__(cls, "__dataclass_fields__", made)  # made once per class: this descriptor gives way
        return made


_METHODS: dict[str, Any] = {
    "__dataclass_fields__": _AsDataclassFields(),
    "__init__": _init,
    "__repr__": _repr,
    "__eq__": _eq,
    "__getstate__": _getstate,
    "__setstate__": _setstate,
}


def fields(record_or_class: Any) -> tuple[Field, ...]:
    """The fields of a record (or record class), in `__init__` order."""
    cls = record_or_class if isinstance(record_or_class, type) else type(record_or_class)
    every: tuple[Field, ...] | None = getattr(cls, "__record_fields__", None)
    if every is None:
        raise TypeError(f"{cls.__qualname__} is not a record")
    return every


def replace(obj: _T, /, **changes: Any) -> _T:
    """A copy of the record `obj` with `changes` to some of its fields, as `dataclasses.replace`:
    made through `__init__` (so `__post_init__` runs again); a field outside `__init__` cannot change."""
    for spec in fields(obj):
        if not spec.init:
            if spec.name in changes:
                raise ValueError(f"field {spec.name!r} is not set by __init__ and cannot be replaced")
        elif spec.name not in changes:
            changes[spec.name] = getattr(obj, spec.name)
    return type(obj)(**changes)
