"""``python -m bench [name …]``: run every benchmark module (or the named ones) and print the figures."""

from __future__ import annotations

import importlib
import sys
import time
import traceback

MODULES = ["screening", "ingest", "scoring", "blocklist"]


def main() -> int:
    wanted = sys.argv[1:] or MODULES
    failed: list[str] = []
    for name in wanted:
        print(f"\n== {name} ==", flush=True)
        started = time.perf_counter()
        try:
            mod = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError:
            print("  (not installed)")
            continue
        try:
            mod.main()
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    if failed:
        print(f"\nbenchmarks that failed to run: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
