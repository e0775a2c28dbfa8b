"""``python -m gen`` (and ``torchrun -m gen``) runs the `gen` command."""

import sys

from gen.cli import main

sys.exit(main())
