"""``python -m issuecore``: the same as the ``issuecore`` command."""

import sys

from issuecore.cli import main

if __name__ == "__main__":
    sys.exit(main())
