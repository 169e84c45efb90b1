"""``python -m posekit`` runs the command line."""

import sys

from posekit.cli import main

sys.exit(main())
