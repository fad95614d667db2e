"""Entry point for `python -m build_scripts`."""

import sys

from .cli import main

sys.exit(main())
