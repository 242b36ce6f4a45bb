"""`python -m tillagent`: the same as the `kiosk-till` console script."""

import sys

from tillagent.cli import main

sys.exit(main())
