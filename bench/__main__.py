"""``python -m bench [name …]``: run every benchmark module (or the named ones) and print the figures."""

from __future__ import annotations

import importlib
import sys
import time
import traceback

from bench.common import BenchFailure

MODULES = ["screening", "ingest", "transfer_import", "scoring", "investigations", "monitoring", "blocklist"]


def main() -> int:
    wanted = sys.argv[1:] or MODULES
    failed: list[str] = []
    for name in wanted:
        print(f"\n== {name} ==", flush=True)
        started = time.perf_counter()
        if name not in MODULES:
            print(f"  no such benchmark: one of {', '.join(MODULES)}")
            failed.append(name)
            continue
        try:
            # An import error (a module the benchmark uses moved) is a failure like any other, not a skip.
            importlib.import_module(f"bench.{name}").main()
        except BenchFailure as e:
            print(f"  FAILED {e}", flush=True)
            failed.append(f"{name} ({e.row})")
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    if failed:
        print(f"\nbenchmarks that failed (no figures to trust): {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
