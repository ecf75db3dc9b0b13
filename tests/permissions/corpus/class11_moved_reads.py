"""Class 11: in acceptEdits mode, moving, hard-linking or copying a folder puts files a Read
deny rule protects where no rule names them (`mv .env src/x` then `cat src/x`): the source is
read, with everything below it. Abbreviated options and sed's backup files count as what they name."""

MODE = "typicalEdits"
PAIRS = [
    ("mv .env src/env.txt", "mv file.txt src/file.txt"),
    ("mv secrets docs/", "mv victim/sub docs/"),
    ("mv secrets/key.pem docs/", "mv victim/a.txt docs/"),
    ("ln .env src/env.txt", "cp file.txt src/copy.txt"),
    ("ln secrets/key.pem src/key", "mv victim/a.txt src/a.txt"),
    ("cp -r . docs/copy", "cp -r src docs/copy"),
    ("cp -a secrets docs/", "cp -a victim/sub docs/"),
    ("cp -R ./ victim/", "cp -R src/ victim/"),
    ("cp --recursive secrets docs/", "cp --recursive victim docs/"),
    # getopt_long's abbreviations name the same options
    ("cp --target=/tmp file.txt", "cp --target-directory=src file.txt"),
    ("cp --target-dir=.git file.txt", "cp -t src file.txt"),
    ("mv --targ ~/other victim/a.txt", "mv --target-directory src victim/a.txt"),
    # sed -i keeps a backup where its suffix says (`*` is the file's name)
    ("sed -i'/tmp/*' s/a/b/ file.txt", "sed -i.bak s/a/b/ file.txt"),
    ("sed -i'../*' s/a/b/ file.txt", "sed -i'docs/*' s/a/b/ file.txt"),
    ("sed --in-place='.git/hooks/*' s/a/b/ file.txt", "sed --in-place=.orig s/a/b/ file.txt"),
]
