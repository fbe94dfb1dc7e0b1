"""Spec tests (``*.test.yaml``): test files -> results, driving the runtime through its public API."""
