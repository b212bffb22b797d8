"""The asyncio ordering kit's grader: a pytest plugin, a thin CLI and a sandboxed runtime.

Layers, top to bottom; a module imports only from its own layer or from layers below it
(`tests/test_architecture.py` enforces this, and that there is no import cycle):

    bench/      measure grading speed (nothing imports it)
    commands/   what a user types: `python -m grader`, grade, hint, watch (and `batch`, below)
    classroom/  hand out, collect, grade many, export (Gradescope, GitHub Classroom)
    grading/    a submission folder in, a report out: the pytest plugin and hidden tests
    feedback/   what people read: terminal, HTML, Markdown, JUnit, timelines
    sandbox/    run one untrusted file in a child, bring back typed data (the security boundary)
    model/      kit paths, curriculum, results, orderings, errors, the one atomic write
    runtime/    the child side: stdlib only, copied flat into the sandbox, imports nothing else

`commands/` sits above `classroom/` because `python -m grader batch` is a command that runs the
classroom's batch; the classroom tools in turn need only `grading/` and below.
"""
