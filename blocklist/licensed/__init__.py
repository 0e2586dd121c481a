"""The licensed check: a domain of an active licensed firm, or any name under or above it, never enters the feed."""
