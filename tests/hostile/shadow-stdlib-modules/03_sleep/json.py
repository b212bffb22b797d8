"""HOSTILE: a json.py next to the exercise in the submission, hoping the grader loads it."""
import os

try:
    with open("@@CANARY@@/loaded-json2-@@MARKER@@", "w") as out:
        out.write("loaded")
except OSError:
    pass
