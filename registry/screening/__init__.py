"""Screening: the in-memory snapshot, the result shape and the buffered screening log."""
