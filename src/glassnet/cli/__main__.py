"""``python -m glassnet.cli``: the same as the ``glassnet`` command."""

import sys

from glassnet.cli.app import main

sys.exit(main())
