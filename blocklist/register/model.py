"""Former name of ``blocklist.register.records``, kept only while ``tests/ops/test_jobs.py`` imports it from here.

Import from ``blocklist.register.records``; this module goes once that test's import is updated.
"""

from blocklist.register.records import FetchResult as FetchResult
from blocklist.register.records import FirmRecord as FirmRecord
