"""The append-only, hash-chained audit log, and the signed checkpoints that pin its history."""
