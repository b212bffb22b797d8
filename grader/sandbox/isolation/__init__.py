"""Which operating-system isolation a sandboxed child gets, and the proof that it holds.

`layers` names what a layer promises and chooses among candidates; `jail` sets one run up
under a layer, with `mounts` (a private mount view) and `procfs` (fresh uids, leftover
processes); `probe` is the only module here that runs a child: it proves a layer before any
learner code runs under it and remembers the one chosen for the grading process.
"""
