"""Named actors (an exchanger, a licensed exchange) that link addresses and domains."""
