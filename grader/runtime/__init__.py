"""The code copied into each sandbox child: virtual clock, trace recorder, request runner.

Standard library only, and nothing secret: learner code runs beside it.
"""
