"""``python -m synthgan``: the ``synthgan`` command, also under ``torchrun -m synthgan fit ...``."""

import sys

from synthgan.cli import main

if __name__ == "__main__":
    sys.exit(main())
