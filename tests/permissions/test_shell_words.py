"""What the analysis hands on: word values as bash computes them, wrappers as each one parses,
tracked directories, and the files touched."""

from __future__ import annotations

import pytest

from sous.permissions.shell import analyse
from sous.permissions.words import UNKNOWN


def values(command: str) -> list[list[str]]:
    analysis = analyse(command, home="/home/u")
    assert analysis is not None
    return [[w.value for w in c.words] for c in analysis.commands]


@pytest.mark.parametrize(
    "command,expected",
    [
        ("find v -de''lete", [["find", "v", "-delete"]]),
        ("find v {-delete,-true}", [["find", "v", "-delete", "-true"]]),
        ("find v $'\\x2ddelete' $'\\055x' $'\\u002dy'", [["find", "v", "-delete", "-x", "-y"]]),
        ("find v \\-delete -\\d\\e\\l", [["find", "v", "-delete", "-del"]]),
        ('echo "a b" c\\ d \'e\'"f"', [["echo", "a b", "c d", "ef"]]),
        ("echo {1..3} x{a,b}y {a..c..2}", [["echo", "1", "2", "3", "xay", "xby", "a", "c"]]),
        ("echo '{a,b}' \\{a,b}", [["echo", "{a,b}", "{a,b}"]]),
        ('echo $HOME ${HOME}/x "$HOME"', [["echo", "/home/u", "/home/u/x", "/home/u"]]),
        ("HOME=/tmp; echo $HOME", [[], ["echo", UNKNOWN]]),
        ('echo $X "$Y" a$(id)b', [["id"], ["echo", UNKNOWN, UNKNOWN, f"a{UNKNOWN}b"]]),
        ("sort -'-'\\o\\u\\t\\p\\u\\t=x f", [["sort", "--output=x", "f"]]),
        ("{rm,-rf,v}", []),
    ],
)
def test_word_values(command, expected):
    assert values(command) == expected


@pytest.mark.parametrize(
    "command,expected",
    [
        ("timeout -s KILL 5 nice -n 3 nohup stdbuf -oL make", ["make"]),
        ("env -i -u A --unset=B -C src X=1 make", ["make"]),
        ("env -S 'rm -rf x' ls", ["rm", "-rf", "x", "ls"]),
        ("env -iS'rm  \"a b\"' c", ["rm", "a b", "c"]),
        ("exec -a ls rm x", ["rm", "x"]),
        ("xargs --process-slot-var ls rm", ["rm", UNKNOWN]),
        ("xargs -I{} cp {} dst", ["cp", UNKNOWN, "dst"]),
        ("xargs -0 -n 1 -P4 -r", ["echo", UNKNOWN]),
        ("command -p rm x", ["rm", "x"]),
        ("command -v rm", ["command", "-v", "rm"]),
        ("sudo -u root -E rm x", ["rm", "x"]),
        ("time -p rm x", ["rm", "x"]),
    ],
)
def test_wrappers_are_parsed_per_wrapper(command, expected):
    assert values(command)[-1] == expected


def test_what_the_grammar_rejects_still_reaches_the_floor():
    analysis = analyse("cat x <> ~/.bashrc; {rm,-rf,v}")
    assert analysis is not None and analysis.opaque
    assert ("write", "~/.bashrc") in [(t.kind, t.word.value) for t in analysis.targets]
    assert ["rm", "-rf", "v"] in [[w.value for w in c.words] for c in analysis.candidates]


def test_wrappers_that_always_ask_are_opaque_but_seen():
    analysis = analyse("setsid -w rm -rf x")
    assert analysis is not None and analysis.commands[0].opaque and analysis.commands[0].name == "rm"


@pytest.mark.parametrize(
    "command,cwds",
    [
        ("cd src && ls", {".", "src"}),  # src does not exist here: the cd may fail
        ("(cd /; ls); ls", {"."}),
        ("cd $D && ls", None),
        ("cd - ; ls", None),
        ("cd ~/x; ls", {".", "~/x"}),
        ("for d in a b; do cd $d; done; ls", None),
    ],
)
def test_cd_is_tracked(command, cwds):
    analysis = analyse(command, home="/home/u")
    assert analysis is not None
    last = analysis.commands[-1].cwds
    assert (set(last) if last is not None else None) == cwds


def test_cd_into_an_existing_folder_moves_for_sure(tmp_path):
    (tmp_path / "src").mkdir()
    analysis = analyse("cd src && ls", cwd=str(tmp_path))
    assert analysis is not None and analysis.commands[-1].cwds == frozenset({"src"})
    analysis = analyse("cd src || ls", cwd=str(tmp_path))
    assert analysis is not None and analysis.commands[-1].cwds == frozenset({".", "src"})


@pytest.mark.parametrize(
    "command,kinds",
    [
        ("echo x >& f", [("write", "f")]),
        ("echo x 1>&f 2>&1 3>&- >&2", [("write", "f")]),
        ("cat < a 2>&1 >> b", [("read", "a"), ("write", "b")]),
        ("tee -a f g", [("write", "f"), ("write", "g")]),
        ("cp a b c/", [("read", "a"), ("read", "b"), ("write", "c/"), ("write", "c/a"), ("write", "c/b")]),
        ("mv a b", [("delete", "a"), ("read", "a"), ("write", "b"), ("write", "b/a")]),
        ("ln a b", [("read", "a"), ("write", "b"), ("write", "b/a")]),
        ("ln -s a b", [("write", "b"), ("write", "b/a")]),
        ("sed -n '1r in;$w out' f", [("read", "in;$w out"), ("read", "f")]),  # r takes the rest of the line
        ("sed -n '1r in\n$w out' f", [("read", "in"), ("write", "out"), ("read", "f")]),
        ("pytest --basetemp=t --junitxml j -o cache_dir=c", [("delete", "t"), ("write", "j"), ("write", "c")]),
        ("python3 -m pytest --cov-report=html:h", [("write", "h")]),
        ("git log --out=o -- a", [("write", "o"), ("read", "a")]),
        ("git show HEAD:a", [("read", "a")]),
        ("dd if=a of=b", [("read", "a"), ("write", "b")]),
        ("sed -i.bak s/a/b/ f", [("read", "f"), ("write", "f"), ("write", "f.bak")]),
        ("perl -pi'b/*' -e 1 f g", [("write", "f"), ("write", "g"), ("write", "b/f"), ("write", "b/g")]),
        ("perl -ne print f", []),
        ("sed -i'../*.orig' s/a/b/ d/f", [("read", "d/f"), ("write", "d/f"), ("write", "../f.orig")]),
        ("sort -o out in", [("read", "in"), ("write", "out")]),
        ("uniq in out", [("read", "in"), ("write", "out")]),
        ("rm -rf a b", [("delete", "a"), ("delete", "b")]),
        ("find d -delete", [("read", "d"), ("delete", "d")]),
        ("grep -r x", [("read", ".")]),
        ("git diff --output=o a", [("write", "o"), ("read", "a")]),
    ],
)
def test_files_touched(command, kinds):
    analysis = analyse(command)
    assert analysis is not None
    assert [(t.kind, t.word.value) for t in analysis.targets] == kinds


@pytest.mark.parametrize(
    "command",
    [
        "echo $((x))",
        "(( x ))",
        "let x=1",
        "test -v 'a[$(id)]'",
        '[ "$x" -eq 1 ]',
        "[[ $x -lt 2 ]]",
        "printf -v 'a[$(id)]' x",
        "read 'a[$(id)]'",
        "unset 'a[$(id)]'",
        "echo ${!x}",
        "echo ${x@P}",
        "echo ${a[$i]}",
        "a[$i]=1",
        "declare -i x=1",
        'eval "$x"',
        'bash -c "$x"',
        "$CMD",
        "echo 'open",
        "[ $X ]",
    ],
)
def test_code_evaluated_later_makes_the_analysis_opaque(command):
    analysis = analyse(command)
    assert analysis is not None and (analysis.opaque or any(c.opaque for c in analysis.commands)), command


@pytest.mark.parametrize(
    "command",
    [
        "echo $((1+2))",
        "(( 3 ))",
        "test -v x",
        "[ 1 -eq 1 ]",
        "[[ $x == y ]]",
        "echo ${a[0]} ${a[@]}",
        '[ "$X" ]',
        "eval 'ls'",
        "bash -c 'ls'",
    ],
)
def test_plain_forms_stay_readable(command):
    analysis = analyse(command)
    assert analysis is not None and not analysis.opaque, (command, analysis.opaque)


def test_a_glob_is_option_safe_only_when_no_match_starts_with_a_dash_and_nothing_is_written(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    found = analyse("du -sh *", cwd=str(tmp_path))
    assert found is not None and not found.commands[0].words[-1].may_be_option
    found = analyse("touch ./-x; du -sh *", cwd=str(tmp_path))  # the write may make `-x` first
    assert found is not None and found.commands[-1].words[-1].may_be_option
    (tmp_path / "--files0-from=a.txt").write_text("")
    found = analyse("du -sh *", cwd=str(tmp_path))
    assert found is not None and found.commands[0].words[-1].may_be_option
