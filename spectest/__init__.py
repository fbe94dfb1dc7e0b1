"""Spec tests (``*.test.yaml``): test files -> results, driving the runtime through its public API.

One module per concern: ``format`` (loading, schema, typed tests), ``series``
(the series notation, dates and durations, with their bounds), ``runner``
(snapshot rows, evaluation, matching), ``coverage`` and ``junit``.
"""
