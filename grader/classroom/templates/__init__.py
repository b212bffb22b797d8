"""Files the classroom tools write into a student handout or a Gradescope bundle.

`check.py` is shipped verbatim as the handout's public checker (stdlib only, so it runs on the
student's Python with nothing installed); the other files are filled in by `release` and
`gradescope` (`@@NAME@@` placeholders) and are kept here as data.
"""
