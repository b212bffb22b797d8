"""The kit's vocabulary, shared by every layer above: paths, curriculum, results, orderings.

Nothing here runs code or starts a process; it imports only the standard library and itself.
The one atomic write (`fsutil`), the one reader of `PREDICTION` (`answers`), the one order
match (`ordering`) and the one Enum of failure kinds (`errors`) live here so no layer copies them.
"""
