"""Scoring predictions against tasks: validation, statistics, tables, intervals.

``evaluate(predictions, task)`` scores a model beside the task's reference baselines and
returns :class:`Results`; ``compare(...)`` tests two results against each other.
"""

from climbench.evaluation.compare import compare
from climbench.evaluation.evaluate import evaluate, open_predictions
from climbench.evaluation.results import Results

__all__ = ["Results", "compare", "evaluate", "open_predictions"]
