"""The speed benchmark (`nox -s bench`, `python -m grader.bench`): how long grading takes.

It measures whatever the grader does at the time it runs, from the outside (the CLI and `batch`
as an instructor runs them) and from the inside (in-process timings of
`grader.grading.runner.grade`), so runs on two versions of the kit can be compared figure by
figure:

- `learner`: one learner, the whole curriculum (process wall, grading after start-up, per
  exercise, and the real-clock time the snippets would have slept);
- `synth`: a deterministic synthetic class (correct, partial, wrong, broken, hostile uploads);
- `procs`: runs a command while sampling the memory of its whole process tree;
- `naive`: the naive baseline (a fresh pytest process per submission, real clock);
- `figures` / `tables`: growth, ratios and targets; the rich tables;
- `cli`: the command line and the results JSON.

Nothing here is imported by the grader itself.
"""
