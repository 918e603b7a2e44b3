"""Output built from analysis results: comparisons of trials, HTML reports, CSV export.

Pure formatting and arithmetic on ``Analysis`` objects and their ``as_dict()`` form (or
the same form read back from a trial's /processing); no metric is defined here.
"""
