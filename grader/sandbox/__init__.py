"""The security boundary: run one untrusted file in a child and bring back checked, typed data.

A reviewer of what learner code can do reads this package and `grader/runtime/`, nothing else:
`limits`, `intake` (reading submission files safely), `spawn` and `forkserver` (starting
children), `isolation/` (uids, namespaces, mounts, Landlock), `protocol` (checking what a child
sends back) and `runs` (a finished `Run`, or a `LearnerCodeError` in plain words).
"""
