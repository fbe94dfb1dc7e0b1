"""The runtime stage: evaluates a plan against metric snapshots and emits events."""
