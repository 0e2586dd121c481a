"""Official lists: the OFAC sanctions import."""
