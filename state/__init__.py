"""The live record: the state store, the ledger of manual actions, goals reporting (events + actions -> state, reports)."""
