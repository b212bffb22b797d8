"""HOSTILE: a conftest.py in the submission, hoping the grader loads it."""
import os

try:
    with open("@@CANARY@@/loaded-conftest-@@MARKER@@", "w") as out:
        out.write("loaded")
except OSError:
    pass


import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"


def pytest_collection_modifyitems(items):
    items.clear()
