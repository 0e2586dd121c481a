"""Typologies and red flags: behavioural indicators per address and the named patterns they make."""
