"""The domain: pure decisions, no I/O, no framework, no wall clock."""
