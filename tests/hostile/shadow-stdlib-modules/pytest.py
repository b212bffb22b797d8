"""HOSTILE: a pytest.py in the submission, hoping the grader loads it."""
import os

try:
    with open("@@CANARY@@/loaded-pytest-@@MARKER@@", "w") as out:
        out.write("loaded")
except OSError:
    pass
