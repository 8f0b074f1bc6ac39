"""Stacks of the C4 app (one per stage)."""
