"""Database plumbing shared by every feature: the engine, sessions, the version counters and migrations."""
