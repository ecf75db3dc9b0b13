"""The chooser under the prompt, as plain data: filtering, moving, what it shows."""

from __future__ import annotations

from sous.ui.picker import ROWS, Item, Picker


def _picker(labels: list[str], chosen: list) -> Picker:
    return Picker(title="pick", prompt="› ", items=[Item(label=x, value=x) for x in labels], on_choose=chosen.append)


def test_typing_filters_by_every_word_and_the_selection_follows():
    picker = _picker(["alpha beta", "beta gamma", "gamma delta"], [])
    assert [i.label for i in picker.filter("")] == ["alpha beta", "beta gamma", "gamma delta"]
    picker.move(2, "")
    assert picker.current("").label == "gamma delta"
    assert [i.label for i in picker.filter("GAMMA")] == ["beta gamma", "gamma delta"]
    assert picker.current("GAMMA").label == "beta gamma"  # a new filter starts at the top
    picker.move(-1, "GAMMA")  # wraps around
    assert picker.current("GAMMA").label == "gamma delta"
    assert picker.current("beta delta") is None
    assert "nothing matches" in "\n".join(picker.lines("beta delta", 80))


def test_an_items_own_matcher_and_detail_are_used():
    item = Item(label="session one", value=1, matches=lambda words: words == ["kiln"], detail=lambda words: "…a kiln…")
    picker = Picker(title="resume", prompt="› ", items=[item], on_choose=print)
    assert picker.filter("kiln") == [item] and picker.filter("session") == []
    lines = picker.lines("kiln", 80)
    assert lines[0] == "resume (1 of 1)" and lines[1] == "› session one" and lines[2].strip() == "…a kiln…"


def test_a_long_list_scrolls_and_long_labels_are_cut_to_the_width():
    picker = _picker([f"item {i} " + "x" * 200 for i in range(30)], [])
    for _ in range(20):
        picker.move(1, "")
    lines = picker.lines("", 60)
    rows = [line for line in lines[1:-1]]
    assert len(rows) == ROWS and all(len(line) < 60 for line in lines[1:-1])
    assert any(line.startswith("› item 20 ") for line in rows)
