"""Which operating-system isolation a sandboxed child gets, and the proof that it holds.

`layers` describes and applies a layer (a fresh uid, mount/net/PID namespaces, Landlock);
`probe` is the only module here that runs a child: it proves a layer before any learner code
runs under it and remembers the one chosen for the grading process.
"""
