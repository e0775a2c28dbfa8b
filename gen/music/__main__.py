"""``python -m gen.music VERB ...``: the music verbs without the main ``gen`` command."""

import sys

from gen.music.cli import main

sys.exit(main())
