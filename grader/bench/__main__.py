"""Lets `python -m grader.bench` run the benchmark."""

import sys

from grader.bench.cli import main

sys.exit(main())
