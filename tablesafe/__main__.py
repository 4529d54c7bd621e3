"""`python -m tablesafe`."""

import sys

from tablesafe.cli import main

sys.exit(main())
