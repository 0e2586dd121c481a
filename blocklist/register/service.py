"""Former home of the register's services, now split by what they do: ``seed``, ``refresh``, ``apply``,
``mapping``, ``listing``. Kept only while ``blocklist/feature.py`` imports ``ensure_seed`` from here; import it from
``blocklist.register.seed``, and this module goes.
"""

from blocklist.register.seed import ensure_seed as ensure_seed
