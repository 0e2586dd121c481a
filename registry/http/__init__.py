"""What every feature's routes share: the context and auth dependencies, the error mapping, body middleware, the
fast path, parameter and response types. The app itself is assembled in ``registry.app``."""
