"""The programs that only read, option by option: `READ_ONLY`, and git's subcommands (`GIT`,
after its global options `GIT_GLOBAL`). A program or option not in these tables is not read-only:
the command is asked about (see `commands.read_only`).

Output operands and options that write (`sort -o`, `uniq IN OUT`, `git diff --output`) or run
programs (`rg --pre`, `sort --compress-program`) are left out of the tables on purpose.
"""

from __future__ import annotations

from .options import Spec, names

_COLOR = "--color --color= --colour --colour="

READ_ONLY: dict[str, Spec] = {
    "ls": Spec(
        harmless=True,
        operands="list",
        valued=names(
            "-w -T -I --width --tabsize --ignore --hide --format --sort --time --time-style "
            "--block-size --quoting-style --indicator-style"
        ),
        flags=names(
            "-a -A -b -B -c -C -d -D -f -F -g -G -h -H -i -k -l -L -m -n -N -o -p -q -Q -r -R -s "
            "-S -t -u -U -v -x -X -Z -1 --all --almost-all --human-readable --si --recursive "
            "--reverse --directory --classify --file-type --inode --dereference --numeric-uid-gid "
            "--full-time --group-directories-first --no-group --literal --escape --hyperlink "
            "--hyperlink= --dired --author --size --context --zero " + _COLOR
        ),
    ),
    "cat": Spec(
        harmless=True,
        operands="read",
        flags=names(
            "-A -b -e -E -n -s -t -T -u -v --show-all --number --number-nonblank --squeeze-blank "
            "--show-ends --show-tabs --show-nonprinting"
        ),
    ),
    "tac": Spec(operands="read", flags=names("-b -r --before --regex"), valued=names("-s --separator")),
    "nl": Spec(
        harmless=True,
        operands="read",
        valued=names(
            "-b -d -f -h -i -l -n -s -v -w --body-numbering --section-delimiter --footer-numbering "
            "--header-numbering --line-increment --join-blank-lines --number-format "
            "--number-separator --starting-line-number --number-width"
        ),
        flags=names("-p --no-renumber"),
    ),
    "head": Spec(
        operands="read",
        digits=True,
        valued=names("-n -c --lines --bytes"),
        flags=names("-q -v -z --quiet --silent --verbose --zero-terminated"),
    ),
    "tail": Spec(
        operands="read",
        digits=True,
        valued=names("-n -c -s --lines --bytes --sleep-interval --pid --max-unchanged-stats"),
        flags=names("-f -F -q -v -z --follow --follow= --retry --quiet --silent --verbose --zero-terminated"),
    ),
    "wc": Spec(
        operands="read",
        flags=names("-c -m -l -L -w --bytes --chars --lines --max-line-length --words --total --total="),
    ),
    "grep": Spec(
        operands="read",
        pattern_first=True,
        digits=True,
        pattern_options=names("-e -f --regexp --file"),
        reads=names("-f --file --exclude-from"),
        valued=names(
            "-e -f -m -A -B -C -d -D --regexp --file --max-count --after-context "
            "--before-context --context --include --exclude --exclude-dir --exclude-from "
            "--binary-files --directories --devices --label --group-separator"
        ),
        flags=names(
            "-i -y -v -w -x -c -l -L -n -h -H -o -q -s -r -R -E -F -G -P -z -Z -a -I -b -T -U "
            "--count --files-with-matches --files-without-match --line-number --no-filename "
            "--with-filename --only-matching --quiet --silent --recursive "
            "--dereference-recursive --extended-regexp --fixed-strings --basic-regexp "
            "--perl-regexp --ignore-case --no-ignore-case --invert-match --word-regexp "
            "--line-regexp --null --null-data --text --byte-offset --initial-tab --line-buffered "
            "--no-messages --no-group-separator " + _COLOR
        ),
    ),
    "rg": Spec(
        operands="read",
        pattern_first=True,
        pattern_options=names("-e -f --regexp --file --files --type-list"),
        reads=names("-f --file --ignore-file"),
        valued=names(
            "-e -f -g -t -T -m -A -B -C -d -M -j -E -r --regexp --file --glob --iglob --type "
            "--type-not --max-count --after-context --before-context --context --max-depth "
            "--max-filesize --max-columns --threads --sort --sortr --encoding --replace "
            "--context-separator --field-match-separator --field-context-separator --colors "
            "--ignore-file --type-add --path-separator --color"
        ),
        flags=names(
            "-i -s -S -v -w -x -c -l -n -N -H -I -o -q -F -P -U -u -L -a -0 -. -p --hidden "
            "--no-ignore --no-ignore-vcs --no-ignore-dot --no-ignore-parent --no-ignore-global "
            "--files --count --count-matches --files-with-matches --files-without-match "
            "--line-number --no-line-number --with-filename --no-filename --only-matching --quiet "
            "--fixed-strings --multiline --multiline-dotall --smart-case --ignore-case "
            "--case-sensitive --invert-match --word-regexp --line-regexp --follow --json --vimgrep "
            "--heading --no-heading --column --no-column --trim --stats --null --no-messages --pcre2 "
            "--pretty --text --byte-offset --type-list --unrestricted --glob-case-insensitive "
            "--include-zero --max-columns-preview --passthru --crlf --no-config --debug"
        ),
    ),
    "diff": Spec(
        operands="read",
        valued=names(
            "-U -C -I -S -W -F -D --unified --context --ignore-matching-lines --starting-file "
            "--width --show-function-line --ifdef --label --tabsize --line-format "
            "--old-line-format --new-line-format --unchanged-line-format --palette "
            "--horizon-lines --color --from-file --to-file --exclude -x --exclude-from -X"
        ),
        reads=names("--from-file --to-file -X --exclude-from"),
        flags=names(
            "-u -c -q -r -N -y -w -b -B -i -a -E -Z -t -T -s -e -n -l -p -d --brief --recursive "
            "--new-file --side-by-side --ignore-all-space --ignore-space-change "
            "--ignore-blank-lines --ignore-case --text --expand-tabs --initial-tab "
            "--report-identical-files --ed --rcs --normal --show-c-function --minimal "
            "--suppress-common-lines --left-column --unidirectional-new-file "
            "--strip-trailing-cr --speed-large-files --ignore-tab-expansion "
            "--ignore-trailing-space --no-dereference --suppress-blank-empty"
        ),
    ),
    "cmp": Spec(
        operands="read",
        valued=names("-i -n --ignore-initial --bytes"),
        flags=names("-b -l -s --print-bytes --verbose --quiet --silent"),
    ),
    "comm": Spec(
        operands="read",
        valued=names("--output-delimiter"),
        flags=names("-1 -2 -3 -i -z --check-order --nocheck-order --total --zero-terminated"),
    ),
    "sort": Spec(
        operands="read",
        valued=names("-k -t -S --key --field-separator --buffer-size --parallel --sort"),
        flags=names(
            "-b -d -f -g -i -M -h -n -R -r -V -c -C -m -s -u -z --ignore-leading-blanks "
            "--dictionary-order --ignore-case --general-numeric-sort --ignore-nonprinting "
            "--month-sort --human-numeric-sort --numeric-sort --random-sort --reverse "
            "--version-sort --check --check= --merge --stable --unique --zero-terminated"
        ),
    ),
    "uniq": Spec(
        operands="read",
        max_operands=1,
        valued=names("-f -s -w --skip-fields --skip-chars --check-chars"),
        flags=names(
            "-c -d -D -i -u -z --count --repeated --all-repeated --all-repeated= --group "
            "--group= --ignore-case --unique --zero-terminated"
        ),
    ),
    "cut": Spec(
        operands="read",
        valued=names("-b -c -d -f --bytes --characters --delimiter --fields --output-delimiter"),
        flags=names("-n -s -z --complement --only-delimited --zero-terminated"),
    ),
    "base64": Spec(operands="read", valued=names("-w --wrap"), flags=names("-d -i --decode --ignore-garbage")),
    "xxd": Spec(
        operands="read",
        max_operands=1,
        valued=names("-c -g -l -o -s -n -cols -groupsize -len -seek"),
        flags=names("-a -b -C -e -E -i -p -ps -r -u -d -R"),
    ),
    "od": Spec(
        operands="read",
        valued=names("-A -j -N -S -t -w --address-radix --skip-bytes --read-bytes --strings --format --width"),
        flags=names("-a -b -c -d -f -i -l -o -s -v -x --output-duplicates --traditional"),
    ),
    "strings": Spec(
        operands="read",
        valued=names("-n -t -e --bytes --radix --encoding"),
        flags=names("-a -d -f -w --all --data --print-file-name --include-all-whitespace"),
    ),
    "md5sum": Spec(
        operands="read",
        flags=names("-b -t -c -z --binary --text --check --tag --quiet --status --strict --warn --zero"),
    ),
    "sha256sum": Spec(
        operands="read",
        flags=names("-b -t -c -z --binary --text --check --tag --quiet --status --strict --warn --zero"),
    ),
    "file": Spec(
        operands="read",
        valued=names("-F -e --separator --exclude"),
        flags=names(
            "-b -i -L -h -z -Z -s -k -r -N -E -0 --brief --mime --mime-type --mime-encoding "
            "--dereference --no-dereference --uncompress --special-files --keep-going --raw "
            "--no-pad --print0 --extension"
        ),
    ),
    "stat": Spec(
        operands="read",
        valued=names("-c --format --printf"),
        flags=names("-L -f -t --dereference --file-system --terse"),
    ),
    "du": Spec(
        operands="list",
        valued=names("-d -B -t --max-depth --block-size --threshold --exclude --time-style --time"),
        flags=names(
            "-s -h -a -c -k -m -b -x -L -P -S -l -0 -H -D --summarize --human-readable "
            "--apparent-size --total --si --inodes --one-file-system --dereference "
            "--no-dereference --separate-dirs --count-links --null --bytes --all"
        ),
    ),
    "tree": Spec(
        operands="list",
        valued=names("-L -I -P -H -T --charset --filelimit --timefmt --sort"),
        flags=names(
            "-a -d -l -f -x -q -N -Q -p -u -g -s -h -D -F -v -t -c -U -r -C -n -J -X -i "
            "--noreport --dirsfirst --gitignore --prune --matchdirs --ignore-case --du --si "
            "--inodes --device"
        ),
    ),
    "echo": Spec(harmless=True, posix=True),
    "printf": Spec(posix=True),
    "pwd": Spec(flags=names("-L -P")),
    "cd": Spec(flags=names("-L -P -e -@"), posix=True),
    "pushd": Spec(flags=names("-n"), posix=True),
    "popd": Spec(flags=names("-n"), posix=True),
    "true": Spec(harmless=True),
    "false": Spec(harmless=True),
    ":": Spec(harmless=True),
    "which": Spec(flags=names("-a -s")),
    "type": Spec(flags=names("-a -f -p -P -t"), posix=True),
    "basename": Spec(valued=names("-s --suffix"), flags=names("-a -z --multiple --zero")),
    "dirname": Spec(flags=names("-z --zero")),
    "realpath": Spec(
        valued=names("--relative-to --relative-base"),
        flags=names(
            "-e -m -L -P -q -s -z --canonicalize-existing --canonicalize-missing --logical "
            "--physical --quiet --strip --no-symlinks --zero"
        ),
    ),
    "whoami": Spec(),
    "id": Spec(flags=names("-a -Z -g -G -n -r -u -z --context --group --groups --name --real --user --zero")),
    "uname": Spec(
        flags=names(
            "-a -s -n -r -v -m -p -i -o --all --kernel-name --nodename --kernel-release "
            "--kernel-version --machine --processor --hardware-platform --operating-system"
        )
    ),
    "hostname": Spec(
        max_operands=0,
        flags=names(
            "-a -A -d -f -i -I -s -y --alias --all-fqdns --domain --fqdn --long --ip-address --all-ip-addresses --short"
        ),
    ),
    "date": Spec(
        valued=names("-d --date --rfc-3339"),
        flags=names("-u -R --utc --universal --rfc-email --iso-8601 --iso-8601= -I --debug"),
    ),
    "ps": Spec(harmless=True),
    "test": Spec(harmless=True),
    "[": Spec(harmless=True),
}
"""Programs that only look, with the options that keep them so."""

_SUM = READ_ONLY["sha256sum"]
for _name in ("sha1sum", "sha512sum", "sha224sum", "sha384sum", "b2sum", "cksum"):
    READ_ONLY[_name] = _SUM

GIT_GLOBAL = Spec(flags=names("--no-pager -P --no-optional-locks --no-replace-objects --literal-pathspecs"))
_GIT_DIFFISH = (
    "--stat --stat= --shortstat --numstat --name-only --name-status --summary --patch -p -u -s "
    "--no-patch --raw --patch-with-stat --compact-summary --dirstat --dirstat= -w -b "
    "--ignore-all-space --ignore-space-change --ignore-blank-lines --word-diff --word-diff= "
    "--color-words --color-moved --color-moved= --no-color --no-ext-diff --no-textconv --minimal "
    "--patience --histogram --full-index --binary --abbrev --abbrev= -R --relative --relative= -a "
    "--text --find-renames --find-renames= -M -C --find-copies --check --exit-code --quiet "
    "--diff-filter= --src-prefix= --dst-prefix= --no-prefix --unified= -z --cached --staged "
    "--merge-base --ita-invisible-in-index " + _COLOR
)
GIT: dict[str, Spec] = {
    "status": Spec(
        flags=names(
            "-s -b -v -z -u --short --branch --long --verbose --porcelain --porcelain= "
            "--untracked-files --untracked-files= --ignored --ignored= --show-stash "
            "--ahead-behind --no-ahead-behind --column --no-column --renames --no-renames "
            "--ignore-submodules --ignore-submodules="
        )
    ),
    "diff": Spec(
        operands="read",
        valued=names("-U --unified -S -G -O --diff-algorithm --inter-hunk-context"),
        flags=names(_GIT_DIFFISH + " --no-index"),
    ),
    "log": Spec(
        digits=True,
        valued=names(
            "-n --max-count --skip --since --after --until --before --author "
            "--committer --grep --format --pretty --date --decorate-refs "
            "--decorate-refs-exclude -S -G -L -U --unified --diff-filter"
        ),
        flags=names(
            _GIT_DIFFISH + " --oneline --graph --all --branches --tags --remotes --decorate "
            "--decorate= --no-decorate --follow --reverse --no-merges --merges --first-parent "
            "--abbrev-commit --no-abbrev-commit --pretty= --format= --date= --since= --until= "
            "--author= --grep= --max-count= --skip= --left-right --cherry-pick --boundary "
            "--topo-order --date-order --author-date-order --source --walk-reflogs -g -i "
            "--regexp-ignore-case --invert-grep --all-match --simplify-by-decoration -m "
            "--show-signature --mailmap --use-mailmap --full-history --no-walk --no-walk="
        ),
    ),
    "show": Spec(
        valued=names("-U --unified --format --pretty --date"),
        flags=names(
            _GIT_DIFFISH + " --oneline --format= --pretty= --date= --no-notes --show-signature "
            "--decorate --no-decorate -m --first-parent"
        ),
    ),
    "branch": Spec(
        flags=names(
            "-a -r -v -vv -l --list --show-current --all --remotes --verbose --merged "
            "--no-merged --contains --no-contains --sort= --format= " + _COLOR
        ),
        max_operands=0,
    ),
    "rev-parse": Spec(harmless=True),
    "ls-files": Spec(
        valued=names("-x --exclude -X --exclude-from --exclude-per-directory --format"),
        flags=names(
            "-c -d -m -o -i -s -u -k -z -t -v -f --cached --deleted --modified --others "
            "--ignored --stage --unmerged --killed --exclude-standard --directory "
            "--no-empty-directory --eol --full-name --recurse-submodules --error-unmatch "
            "--abbrev --abbrev= --debug --deduplicate --sparse"
        ),
    ),
    "blame": Spec(
        valued=names("-L -M -C --date --abbrev"),
        flags=names(
            "-l -t -s -e -w -p -c -n -f -b --root --porcelain --line-porcelain --incremental "
            "--show-stats --show-name --show-number --show-email --minimal --progress "
            "--no-progress " + _COLOR
        ),
    ),
    "remote": Spec(flags=names("-v --verbose"), max_operands=0),
}
"""Read-only git subcommands. Not listed on purpose: `--output`, `--ext-diff`, `--textconv`,
`blame --contents/-S` (read any file), and the global `-c`, `-C`, `--git-dir`, `--exec-path`."""
