"""Running the service: health, readiness, metrics, jobs."""
