"""HOSTILE: a fake sandbox runner in the submission, hoping the grader loads it."""
import os

try:
    with open("@@CANARY@@/loaded-kitrt-child-@@MARKER@@", "w") as out:
        out.write("loaded")
except OSError:
    pass
