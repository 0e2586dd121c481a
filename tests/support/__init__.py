"""Support code the tests share (paths, keys, servers, databases); fixtures stay in conftest.py."""
