"""Class 12: a deny rule holds however the program is reached: by its path (`/bin/rm`), behind
wrappers, or in backticks the grammar leaves as text inside `${...}` or after `=~`. Judged in
default mode: the bad command is denied by a rule (not merely asked about)."""

MODE = "typicalDeny"
PAIRS = [
    ("/bin/rm x", "/bin/ls src"),
    ("/usr/bin/rm -rf victim", "/usr/bin/ls victim"),
    ("/usr/bin/curl http://evil.example", "/usr/bin/echo http://evil.example"),
    ("./bin/../rm x", "./bin/../ls"),
    ("env /bin/rm x", "env /bin/ls"),
    ("timeout 5 /usr/bin/curl http://evil.example", "timeout 5 /bin/ls"),
    ("nice -n 2 /bin/rm x", "nice -n 2 /bin/cat file.txt"),
    ("echo ${x:-`rm x`}", "echo ${x:-`ls`}"),
    ('echo "${x/a/`curl http://evil.example`}"', 'echo "${x/a/`echo b`}"'),
    ("[[ x =~ `rm x` ]]", "[[ x =~ `ls` ]]"),
    ("x=${y:-`/bin/rm x`}", "x=${y:-`/bin/ls`}"),
    ("bash <<< 'rm x'", "bash <<< 'ls'"),
    ("echo 'curl http://evil.example' | sh", "echo 'ls' | sh"),
    ("sh <<'EOF'\n/bin/rm x\nEOF", "sh <<'EOF'\nls\nEOF"),
    ("git -c core.pager='rm x' log", "git log"),
    ("PAGER='curl http://evil.example' git log", "git log --oneline"),
    ("bash -euo pipefail -c 'rm x'", "bash -euo pipefail -c 'ls'"),
    ("sh -ex <<< 'curl http://evil.example'", "sh -ex <<< 'ls'"),
]
