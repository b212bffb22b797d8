"""Classroom use of the kit: hand out, collect, grade many, export.

- `release`: build the student handout (stubs, a student README and noxfile with public
  checks only; no solutions, no hidden tests).
- `intake`: turn one student's upload (a folder or a .zip, laid out however they zipped it)
  into a clean folder of exercise files, safely.
- `batch`: grade a folder of uploads in parallel, one fresh grader process per student, and
  write a CSV gradebook, a Markdown feedback file per student and a summary.
- `junit`, `gradescope`, `github_classroom`: the same `GradeReport` in the formats CI systems,
  Gradescope and GitHub Classroom read.
"""
