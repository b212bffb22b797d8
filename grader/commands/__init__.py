"""What a user types: `python -m grader` and its subcommands, each a short pipeline.

`cli` parses and dispatches; `grade` grades and reports; `list`, `hint`, `reset` and `watch`
serve the learner; `docs_samples` keeps the samples in the README and docs/ fresh.
`python -m grader batch` is dispatched to `grader.classroom.batch`, the layer just below.
"""
