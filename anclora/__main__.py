"""`python -m anclora`."""

import sys

from .cli import main

sys.exit(main())
