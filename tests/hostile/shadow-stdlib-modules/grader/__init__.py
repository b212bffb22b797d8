"""HOSTILE: a fake grader package in the submission, hoping the grader loads it."""
import os

try:
    with open("@@CANARY@@/loaded-grader-@@MARKER@@", "w") as out:
        out.write("loaded")
except OSError:
    pass
