"""HOSTILE: a fake sandbox runtime package in the submission, hoping the grader loads it."""
import os

try:
    with open("@@CANARY@@/loaded-kitrt-@@MARKER@@", "w") as out:
        out.write("loaded")
except OSError:
    pass
