"""Hidden tests: how each exercise is graded. Never shipped to learners."""
