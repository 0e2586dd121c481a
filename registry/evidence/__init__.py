"""Evidence packs: what a prosecutor reads about one address (PDF, CSV, JSON)."""
