"""HOSTILE: a json.py in the submission, hoping the grader loads it."""
import os

try:
    with open("@@CANARY@@/loaded-json-@@MARKER@@", "w") as out:
        out.write("loaded")
except OSError:
    pass

dumps = loads = lambda *a, **k: '{"score": 999}'
