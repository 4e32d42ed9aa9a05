"""`python -m itabot …`: see itabot.cli."""

import sys

from itabot.cli import main

sys.exit(main())
