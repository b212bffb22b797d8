"""Lets `python -m grader` run the command-line interface."""

import sys

from .cli import main

sys.exit(main())
