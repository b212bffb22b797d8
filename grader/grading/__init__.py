"""A submission folder in, a `GradeReport` out: the pytest plugin and what hidden tests use.

`runner.grade` runs the hidden tests (`hidden/`) in this process with `session.GradingSession`
collecting their outcomes; `predict`, `produce`, `truth` and `misconceptions` decide each
exercise's credit from sandboxed runs. Scores are decided here, never where learner code runs.
"""
