import sys

from sous.cli import main

sys.exit(main())
