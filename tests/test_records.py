"""Records behave as the dataclasses they replace: each behaviour is checked on a record and on the
dataclass declared the same way, so a difference shows up as a failure here."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Any, ClassVar

import pytest

from sous.records import FrozenRecordError, field, fields, record, replace


@record
class Event:
    """A frozen, keyword-only record."""

    kind: str
    text: str = ""
    tags: list[str] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    LIMIT: ClassVar[int] = 3


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EventDC:
    kind: str
    text: str = ""
    tags: list[str] = dataclasses.field(default_factory=list)
    cache: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)
    LIMIT: ClassVar[int] = 3


@record(frozen=False, kw_only=False)
class Point:
    x: int
    y: int = 0
    seen: list[int] = field(default_factory=list)


@dataclasses.dataclass(slots=True)
class PointDC:
    x: int
    y: int = 0
    seen: list[int] = dataclasses.field(default_factory=list)


@record
class Derived:
    raw: str
    words: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", tuple(self.raw.split()))


@pytest.mark.parametrize("cls", [Event, EventDC])
def test_frozen_keyword_records_match_dataclasses(cls: Any) -> None:
    e = cls(kind="k", tags=["a"])
    assert (e.kind, e.text, e.tags, e.cache) == ("k", "", ["a"], {})
    assert e == cls(kind="k", tags=["a"], cache={"ignored": 1})  # cache is not compared
    assert e != cls(kind="k", text="x", tags=["a"])
    assert cls(kind="k") != "k" and (cls(kind="k") == object()) is False
    with pytest.raises(TypeError, match="unhashable"):
        hash(cls(kind="k"))  # hashed by its compared fields, and one is a list
    assert cls(kind="k").tags is not cls(kind="k").tags  # a fresh default each time
    assert repr(cls(kind="k")).endswith("(kind='k', text='', tags=[])")
    assert cls.LIMIT == 3 and "LIMIT" not in [f.name for f in (fields if cls is Event else dataclasses.fields)(cls)]
    assert cls.__match_args__ == ()
    assert not hasattr(e, "__dict__")  # slotted
    with pytest.raises(AttributeError):
        e.kind = "other"
    with pytest.raises(AttributeError):
        del e.kind
    with pytest.raises(TypeError):
        cls("k")  # keyword-only
    with pytest.raises(TypeError):
        cls()  # kind is required
    with pytest.raises(TypeError):
        cls(kind="k", nope=1)


@pytest.mark.parametrize("cls", [Point, PointDC])
def test_mutable_positional_records_match_dataclasses(cls: Any) -> None:
    p = cls(1, 2)
    assert (p.x, p.y, p.seen) == (1, 2, [])
    p.x = 5
    p.seen.append(1)
    assert p == cls(5, 2, [1]) and p == cls(x=5, y=2, seen=[1])
    assert cls.__hash__ is None  # equal by value and mutable: not hashable
    assert cls.__match_args__ == ("x", "y", "seen")
    assert repr(cls(1)).endswith("(x=1, y=0, seen=[])")
    with pytest.raises(TypeError):
        cls(1, 2, [], 4)
    with pytest.raises(TypeError):
        cls(1, x=1)


def test_match_statements_read_positional_fields() -> None:
    match Point(3, 4):
        case Point(x, y):
            assert (x, y) == (3, 4)
        case _:
            pytest.fail("no match")
    match Event(kind="k", text="t"):
        case Event(kind="k", text=text):
            assert text == "t"
        case _:
            pytest.fail("no match")


def test_errors_name_the_field() -> None:
    with pytest.raises(FrozenRecordError, match="'kind'"):
        Event(kind="k").kind = "x"  # type: ignore[misc]
    with pytest.raises(TypeError, match="missing required argument.*'kind'"):
        Event()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        Event(kind="k", nope=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="multiple values for argument 'x'"):
        Point(1, x=2)  # type: ignore[misc]


def test_declaration_mistakes_are_refused_as_dataclasses_refuses_them() -> None:
    with pytest.raises(ValueError, match="mutable default"):

        @record
        class Shared:
            items: list[int] = []  # noqa: RUF012 (the mistake under test)

    with pytest.raises(TypeError, match="follows default"):

        @record(kw_only=False)
        class Order:
            a: int = 0
            b: int

    with pytest.raises(ValueError, match="both default and default_factory"):
        field(default=1, default_factory=int)


def test_post_init_and_fields_outside_init() -> None:
    d = Derived(raw="a b c")
    assert d.words == ("a", "b", "c")
    assert d == Derived(raw="a b c") and repr(d) == "Derived(raw='a b c')"
    assert hash(d) == hash(Derived(raw="a b c")) and len({d, Derived(raw="a b c"), Derived(raw="x")}) == 2
    assert replace(d, raw="x y").words == ("x", "y")
    with pytest.raises(ValueError, match="not set by __init__"):
        replace(d, words=())


def test_replace_and_fields() -> None:
    e = Event(kind="k", tags=["a"])
    r = replace(e, text="new")
    assert (r.kind, r.text, r.tags) == ("k", "new", ["a"]) and e.text == ""
    assert [f.name for f in fields(Event)] == ["kind", "text", "tags", "cache"]
    assert fields(e) == fields(Event)
    with pytest.raises(TypeError, match="not a record"):
        fields(object())


@pytest.mark.parametrize("value", [Event(kind="k", tags=["a"]), Point(1, 2, [3]), Derived(raw="a b")])
def test_copies_and_pickles(value: Any) -> None:
    for twin in (copy.copy(value), copy.deepcopy(value), pickle.loads(pickle.dumps(value))):
        assert twin == value and type(twin) is type(value)
    assert pickle.loads(pickle.dumps(Derived(raw="a b"))).words == ("a", "b")


def test_record_bases_give_their_fields_first() -> None:
    @record
    class Base:
        a: int
        b: str = ""

    @record
    class Child(Base):
        c: float = 0.0

    child = Child(a=1, c=2.0)
    assert (child.a, child.b, child.c) == (1, "", 2.0)
    assert [f.name for f in fields(Child)] == ["a", "b", "c"]
    assert isinstance(child, Base) and child != Base(a=1)
    with pytest.raises(AttributeError):
        child.a = 2  # type: ignore[misc]


def test_methods_a_class_defines_are_kept() -> None:
    @record
    class Custom:
        a: int

        def __repr__(self) -> str:
            return "custom"

    assert repr(Custom(a=1)) == "custom"


def test_making_a_record_is_cheap() -> None:
    """The point of records: no function is compiled per class (dataclasses compile six)."""
    compiled = []
    import builtins

    real_exec = builtins.exec
    builtins.exec = lambda *a, **k: compiled.append(a) or real_exec(*a, **k)  # type: ignore[assignment]
    try:

        @record
        class Cheap:
            a: int
            b: str = ""
    finally:
        builtins.exec = real_exec
    assert compiled == [] and Cheap(a=1).b == ""


def test_the_dataclasses_functions_take_records_as_they_take_dataclasses() -> None:
    """Programs using sous's Python API may serialize its events with `dataclasses.asdict`."""
    from sous.core import TextDelta, ToolCall, ToolStart

    event = ToolStart(call=ToolCall(id="c1", name="Bash", arguments={"command": "ls"}))
    assert dataclasses.is_dataclass(event) and dataclasses.is_dataclass(ToolStart)
    assert dataclasses.asdict(event)["call"] == {f.name: getattr(event.call, f.name) for f in fields(ToolCall)}
    assert dataclasses.asdict(event)["call"]["arguments"] == {"command": "ls"}
    assert [f.name for f in dataclasses.fields(Event)] == [f.name for f in fields(Event)]
    assert [f.name for f in dataclasses.fields(Event(kind="k"))] == ["kind", "text", "tags", "cache"]
    assert dataclasses.replace(TextDelta(text="a"), text="b") == TextDelta(text="b")
    assert dataclasses.replace(Event(kind="k", tags=["a"]), text="x") == Event(kind="k", text="x", tags=["a"])
    with pytest.raises(ValueError):
        dataclasses.replace(Derived(raw="a b"), words=())  # a field outside __init__, as for a dataclass
    assert dataclasses.astuple(Point(1, 2)) == (1, 2, [])
