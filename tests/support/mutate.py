"""``make mutate``: mutation testing of the core modules with mutmut, module group by module group.

``python -m tests.support.mutate [GROUP …]`` (groups: the keys of ``GROUPS``; all by default). mutmut's settings
are ``[tool.mutmut]`` in ``pyproject.toml``: the files it mutates (``only_mutate``) and the focused tests it runs
(``pytest_add_cli_args_test_selection``: each group's own test files, never the whole suite). mutmut copies the
code into ``mutants/`` (git-ignored), runs the selected tests once to learn which test runs which function, then
runs every mutant against only the tests that run its function. A group still running after
``MUTATE_MINUTES`` (15) minutes is stopped and reported with what it finished. A run starts from a fresh copy
(mutmut never refreshes the files it does not mutate, and the tests run against that copy); ``MUTATE_RESUME=1``
keeps ``mutants/`` and its results and continues where the last run stopped.

The PostgreSQL half of the tests is left out (``REGISTRY_TEST_POSTGRES_URL`` unset): a mutant in these modules
behaves the same on both databases, and the second database would double the time. Run it under ``nice``
(``make mutate`` does): it keeps both cores busy for a long time.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.support.paths import ROOT

GROUPS: dict[str, list[str]] = {
    "four-eyes": ["registry.auth.persons", "registry.decisions.service"],
    "addresses": ["chains.addresses.normalize", "chains.addresses.batch"],
    "audit": ["registry.audit.service", "registry.audit.checkpoints"],
    "propagation": ["registry.scoring.propagate"],
    "feeds": ["blocklist.feeds.render"],
    "licensed": ["blocklist.licensed.service", "blocklist.licensed.queries"],
}
"""Each group's modules (mutmut names a mutant ``module.function__mutmut_N``)."""

KILLED = {"killed", "timeout", "caught by type check"}


def _mutmut(*args: str, timeout: float | None = None) -> tuple[int | None, str]:
    """Run mutmut in the project root; on timeout stop it and everything it started. Returns (exit code or None
    when stopped, output)."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "REGISTRY_TEST_POSTGRES_URL")}
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("mutmut")), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        return None, out


def results() -> dict[str, str]:
    """Every mutant tried so far and its status (killed, survived, no tests, timeout, …)."""
    _, out = _mutmut("results", "--all", "true")
    found = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            found[name] = status
    return found


def summary(modules: list[str], found: dict[str, str]) -> tuple[Counter[str], float | None]:
    """Counts by status of the mutants of ``modules``, and the score: killed (timeouts and type-check kills
    included) over every mutant tested, ``no tests`` included (a mutant no focused test reaches survives)."""
    counts = Counter(status for name, status in found.items() if any(name.startswith(m + ".") for m in modules))
    tested = sum(n for status, n in counts.items() if status not in ("not checked", "skipped"))
    killed = sum(counts[s] for s in KILLED)
    return counts, (killed / tested if tested else None)


def main(argv: list[str]) -> int:
    wanted = argv or list(GROUPS)
    unknown = [g for g in wanted if g not in GROUPS]
    if unknown:
        print(f"no such group: {', '.join(unknown)}; one of: {', '.join(GROUPS)}")
        return 2
    limit = float(os.environ.get("MUTATE_MINUTES", "15")) * 60
    if os.environ.get("MUTATE_RESUME", "") in ("", "0"):
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    for group in wanted:
        modules = GROUPS[group]
        print(f"\n== {group}: {', '.join(modules)}", flush=True)
        started = time.monotonic()
        code, out = _mutmut("run", *[f"{m}.*" for m in modules], timeout=limit)
        took = time.monotonic() - started
        tail = "\n    ".join(out.strip().splitlines()[-4:])
        if code is None:
            print(f"  stopped after {took / 60:.0f} min (MUTATE_MINUTES): partial results\n    {tail}")
        elif code != 0:
            print(f"  mutmut failed (exit {code}) after {took:.0f} s:\n    {tail}")
        counts, score = summary(modules, results())
        shown = ", ".join(f"{n} {status}" for status, n in counts.most_common())
        print(f"  {shown or 'no mutants tried'}; score {score:.1%}" if score is not None else f"  {shown}")
    print("\nsurvivors: .venv/bin/mutmut results; one of them: .venv/bin/mutmut show NAME")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
