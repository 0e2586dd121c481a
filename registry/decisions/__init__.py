"""Decisions that need a second person: pending requests that another person confirms (four eyes)."""
