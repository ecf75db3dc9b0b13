"""The adversarial corpus, one module per class of hole (issue 13's numbering).

Each module has `PAIRS`: (must not pass, must pass) commands. The first is what an attacker who
controls the model's commands would try; the second is its harmless sibling, which must still
run without a prompt so that closing the hole does not cost usability. `MODE` says how they are
judged: "dontAsk" under the allow rules `ATTACK_ALLOW` (the bad one is denied, the good one
allowed), or "floor" in bypassPermissions with `Bash` allowed (the bad one needs a typed
confirmation, the good one runs).
"""

ATTACK_ALLOW = ["Bash(echo *)", "Bash(ls *)", "Bash(cat *)", "Bash(git status)"]

TYPICAL_ALLOW = [
    "Bash(git status:*)",
    "Bash(git diff:*)",
    "Bash(git log:*)",
    "Bash(git show:*)",
    "Bash(git blame:*)",
    "Bash(npm test:*)",
    "Bash(pytest:*)",
    "Bash(ls:*)",
    "Bash(cat:*)",
    "Bash(echo:*)",
    "Bash(python -m pytest:*)",
    "Bash(make test)",
    "Bash(make test *)",
    "Bash(find:*)",
    "Bash(grep:*)",
    "Bash(sed -n:*)",
    "Bash(tree:*)",
]
"""A typical person's allow list of prefix rules: `MODE = "typical"` judges under it in dontAsk
mode, `"typicalEdits"` in acceptEdits mode (the bad command must not be allowed), `"typicalDeny"`
in default mode (the bad command must be denied by a rule)."""
TYPICAL_DENY = ["Bash(rm:*)", "Bash(curl:*)", "Read(./.env)", "Read(./secrets/**)", "Edit(.git/**)"]
