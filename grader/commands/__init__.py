"""What a user types: `python -m grader` and its subcommands, each a short pipeline.

`cli` parses and dispatches; `grade` grades and reports; `hint` and `watch` serve the learner.
`python -m grader batch` is dispatched to `grader.classroom.batch`, the layer just below.
"""
