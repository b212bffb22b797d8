"""HOSTILE: a sitecustomize.py in the submission, hoping the grader loads it."""
import os

try:
    with open("@@CANARY@@/loaded-sitecustomize-@@MARKER@@", "w") as out:
        out.write("loaded")
except OSError:
    pass
