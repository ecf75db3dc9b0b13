"""Class 9: a program that reads a whole folder (`grep -r`, `rg`, `diff -r`, `git diff
--no-index`) reads the files below it, so a Read deny rule on one of them applies: the folder
is asked about (rg skips hidden names unless told not to)."""

MODE = "dontAsk"
PAIRS = [
    ("grep -r x .", "grep -r x src"),
    ("grep -R x", "grep -rn x src docs"),
    ("grep x -r .", "grep x -r src"),
    ("grep --recursive x .", "grep --recursive x docs"),
    ("grep -d recurse x .", "grep -d skip x file.txt"),
    ("grep --directories=recurse x .", "grep --directories=skip x file.txt"),
    ("grep -r x secrets", "grep -r x victim"),
    ("grep -rl x src/..", "grep -rl x src/../docs"),
    ("rg x", "rg x src"),
    ("rg x .", "rg x docs"),
    ("rg --hidden x src/..", "rg --hidden x src"),
    ("rg -uu x .", "rg -uu x src"),
    ("rg x secrets", "rg -i x victim"),
    ("diff -r . victim", "diff -r src docs"),
    ("diff -r secrets victim", "diff secrets/../file.txt victim/a.txt"),
    ("git diff --no-index . victim", "git diff --no-index src docs"),
]
