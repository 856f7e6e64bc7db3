"""``python -m features_pipeline.cli``: the same as the ``features-pipeline`` command."""

import sys

from features_pipeline.cli import main

sys.exit(main())
