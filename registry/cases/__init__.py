"""Cases, listings (maker-checker) and the CSV import."""
