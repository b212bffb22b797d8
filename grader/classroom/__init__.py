"""Classroom use of the kit: hand out, collect, grade many, export.

- `release`: build the student handout (stubs, a student README and noxfile with public
  checks only; no solutions, no hidden tests).
- `intake`: find the students in an export (plain folders and zips, Gradescope, Canvas,
  Moodle) and turn one student's upload into a clean folder of exercise files, safely.
- `batch`: grade a folder of uploads in parallel, one warm grader process per job, and
  write a CSV gradebook, a Markdown feedback file per student and a summary.
- `outputs`: the one atomic write, the early writability check and the lock batch outputs use.
- `junit`, `gradescope`, `github_classroom`: the same `GradeReport` in the formats CI systems,
  Gradescope and GitHub Classroom read.
"""
