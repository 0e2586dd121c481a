"""The HTTP app: construction, error mapping, auth dependencies and middleware."""
