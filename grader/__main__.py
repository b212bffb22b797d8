"""Lets `python -m grader` run the command-line interface."""

import sys

from grader.commands.cli import main

sys.exit(main())
