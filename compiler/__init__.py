"""The compiler stage: name resolution, checks, and lowering to the plan."""
