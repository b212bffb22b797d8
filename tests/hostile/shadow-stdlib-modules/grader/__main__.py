"""HOSTILE: a fake grader entry point in the submission, hoping the grader loads it."""
import os

try:
    with open("@@CANARY@@/loaded-grader-main-@@MARKER@@", "w") as out:
        out.write("loaded")
except OSError:
    pass
