"""``python -m lpm``: the command line (see :mod:`lpm.cli`)."""

import sys

from .cli import main

sys.exit(main())
