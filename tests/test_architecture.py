"""The import directions of docs/architecture.md, checked on the real import graph.

Every module of ``chains``, ``registry`` and ``blocklist`` is parsed (``ast``, nothing imported) and every import is
resolved to a project module: module-level, inside functions, and under ``if TYPE_CHECKING:``. Each module belongs
to one unit: ``chains``, ``blocklist``, the registry kernel (``KERNEL``), the registry's assembly (``ASSEMBLY``) or a
registry feature (``registry.<package>``). The rules:

- ``chains`` imports nothing of ``registry`` or ``blocklist``;
- the kernel imports no feature and no assembly module; ``blocklist`` and every feature import the kernel, ``chains``
  and themselves, never the assembly, and another feature only through an entry of ``CROSS_FEATURE`` (the known
  debt, each with its reason; an entry nothing uses any more fails too, so the list only shrinks);
- no import cycle between units (type-only imports excluded: they never run), but those named in ``KNOWN_CYCLES``;
- every feature package's ``FEATURE`` is in the one list, and every router, job list and command is wired through it.
"""

from __future__ import annotations

import ast
import importlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import ROOT

PACKAGES = ("chains", "registry", "blocklist")

KERNEL = (
    "registry.settings",
    "registry.errors",
    "registry.types",
    "registry.feature",
    "registry.pdf",
    "registry.db",
    "registry.http",
    "registry.auth",
    "registry.audit",
    "registry.decisions",
    "registry.taxonomy",
    "registry.ops.jobs",
    "registry.ops.ratelimit",
)
"""What every feature (and ``blocklist``) may import; the list in docs/architecture.md. ``registry`` itself (its
``__init__``) is kernel too."""

ASSEMBLY = ("registry.app", "registry.features", "registry.cli", "registry.asgi", "registry.__main__")
"""The composition root: imports every feature; nothing else imports it."""

KERNEL_UNIT = "registry (kernel)"
ASSEMBLY_UNIT = "registry (assembly)"

CROSS_FEATURE: dict[tuple[str, str], str] = {
    # (importing unit or module, imported module): why
    ("blocklist", "registry.cases.service"): "a domain is submitted under a case: the case's access check (case_for)",
    ("blocklist", "registry.cases.queries"): "a domain's case must be readable by the investigator (membership)",
    ("blocklist", "registry.entities.tables"): "a domain is linked to an entity; the licensed check reads entities",
    ("blocklist", "registry.entities.models"): "a domain's answer embeds the entity's public model",
    ("registry.http.deps", "registry.screening.snapshot"): "type only: AppContext holds the screening snapshot",
    ("registry.http.deps", "registry.screening.log"): "type only: AppContext holds the screening log writer",
    ("registry.imports", "registry.cases.service"): "sanctions become listings; `import listings` is the CSV import",
    ("registry.imports", "registry.cases.tables"): "the sanctions import reconciles its listings with the live ones",
    ("registry.imports", "registry.cases.queries"): "`registry import listings` looks its case up by number",
    ("registry.ops", "registry.screening.log"): "type only: the metrics collector reads the screening log's buffer",
    ("registry.monitoring", "registry.screening.policy"): "alerts compare results made by the screening policy",
    ("registry.monitoring", "registry.cases.tables"): "alerts read the live listings, as the snapshot does",
    ("registry.monitoring", "registry.scoring.tables"): "alerts read the stored scores, as the snapshot does",
    ("registry.scoring", "registry.cases.tables"): "rescoring seeds taint from the live listings",
    ("registry.scoring", "registry.cases.queries"): "the address view shows only the cases the investigator is in",
    ("registry.scoring", "registry.entities.tables"): "licensed entities' addresses stop taint propagation",
    ("registry.scoring", "registry.transfers.tables"): "rescoring reads the transfer store",
    ("registry.scoring", "registry.transfers.store"): "rows written around the store's writer get their address ids "
    "before a rescoring or a Parquet export reads them",
    ("registry.scoring", "registry.screening.policy"): "exposure becomes a verdict by the screening risk policy",
    ("registry.scoring", "registry.screening.snapshot"): "stored scores are loaded into the screening snapshot",
    ("registry.scoring", "registry.screening.models"): "the address view carries the screening's explanation model",
    ("registry.screening", "registry.cases.tables"): "the snapshot is built from the live listings",
    ("registry.screening", "registry.ops.observability"): "the screenings-by-level counter is among the ops metrics",
    ("registry.sync", "registry.transfers.store"): "sync and the crawl write through the transfer store's writer",
    ("registry.investigations", "registry.cases.service"): "candidates are submitted through the cases service",
    ("registry.investigations", "registry.cases.checks"): "each candidate is checked as a listing submission is",
    ("registry.investigations", "registry.cases.models"): "candidates answer with the listings' public model",
    ("registry.investigations", "registry.cases.tables"): "the candidates' listings are read back once submitted",
    ("registry.investigations", "registry.entities.tables"): "every address shown names the entity behind it",
    ("registry.investigations", "registry.scoring.queries"): "the trail is read by the scoring's priced queries",
    ("registry.investigations", "registry.scoring.propagate"): "a trace is the scoring's haircut from one origin",
    ("registry.investigations", "registry.scoring.paths"): "paths are the scoring's path search",
    ("registry.investigations", "registry.scoring.settings"): "the prices, dust and assets the scores were made with",
    ("registry.investigations", "registry.scoring.valuation"): "amounts in human units from the asset table",
    ("registry.investigations", "registry.screening.snapshot"): "listing and risk of each address shown: the snapshot",
    ("registry.evidence", "registry.scoring.explain"): "a pack is the address view's data and its explanation",
    ("registry.evidence", "registry.scoring.models"): "a pack is built from the address view's types",
    ("registry.evidence", "registry.scoring.rescore"): "the explanation quotes the policy as configured (policy_from)",
    ("registry.evidence", "registry.scoring.settings"): "the prices and hop limit the scores were made with",
    ("registry.evidence", "registry.scoring.valuation"): "amounts in human units from the asset table",
    ("registry.evidence", "registry.scoring.snapshot"): "`registry evidence` loads stored exposure as the API does",
    ("registry.evidence", "registry.screening.snapshot"): "the graph marks listed addresses as the snapshot has them",
    ("registry.evidence", "registry.cases.queries"): "an investigator's pack shows only their cases (membership)",
    ("registry.evidence", "registry.cases.tables"): "who submitted and who decided each listing shown (persons)",
    ("registry.evidence", "registry.investigations.units"): "one definition of human amounts and transfer positions",
    ("registry.evidence", "registry.investigations.service"): "a listed wallet's pack shows where its money went",
    ("registry.evidence", "registry.investigations.models"): "the forward trace's type",
    ("registry.reports", "registry.cases.tables"): "reports group listing events by category, chain …",
    ("registry.reports", "registry.screening.tables"): "reports count screenings in the log and its daily rollup",
    ("registry.reports", "registry.transfers.tables"): "reports sum value to and from listed wallets in the store",
    ("registry.reports", "registry.entities.tables"): "a flow to a licensed service's address is domestic_licensed",
    ("registry.reports", "registry.scoring.settings"): "reference values are at the scoring's reference prices",
    ("registry.reports", "registry.scoring.valuation"): "reference values are at the scoring's reference prices",
    ("registry.reports", "registry.typologies.service"): "the report and the CIS export count typologies observed",
    ("registry.reports", "registry.monitoring.service"): "the report counts the monitoring alerts sent in a period",
    ("registry.reports", "blocklist.feeds.signing"): "the CIS export is signed as the blocklist manifest is",
    ("registry.reports", "blocklist.settings"): "the CIS export is signed with the blocklist manifest's key",
    ("registry.typologies", "registry.cases.service"): "candidates are offered on a case: its access check (case_for)",
    ("registry.typologies", "registry.cases.queries"): "candidates are traced from the case's open listings",
    ("registry.typologies", "registry.cases.tables"): "listed unlicensed exchangers feed an indicator",
    ("registry.typologies", "registry.entities.tables"): "licensed services and unlicensed exchangers feed indicators",
    ("registry.typologies", "registry.scoring.rescore"): "indicators are computed with every rescoring (its HOOKS)",
    ("registry.typologies", "registry.scoring.settings"): "indicators value transfers at the scoring's prices",
    ("registry.typologies", "registry.scoring.valuation"): "indicators value transfers at the scoring's prices",
    ("registry.typologies", "registry.scoring.queries"): "candidates are traced with the scoring's priced edge sums",
    ("registry.typologies", "registry.screening.snapshot"): "red flags are loaded into the screening snapshot",
    ("registry.typologies", "registry.screening.models"): "red flags are part of the screening result contract",
    ("registry.console", "registry.cases.service"): "pages create cases and submit and decide listings through it",
    ("registry.console", "registry.cases.queries"): "case lists, members, listings and the queue read as the API reads",
    ("registry.console", "registry.cases.models"): "forms are validated by the API's own request models",
    ("registry.console", "registry.cases.tables"): "a delisting request names its listing by id",
    ("registry.console", "blocklist.domains.service"): "domains are submitted, checked and decided through it",
    ("registry.console", "blocklist.domains.queries"): "a case page lists the case's domains",
    ("registry.console", "blocklist.models"): "the domain form is validated by the API's request model",
    ("registry.console", "blocklist.register.listing"): "the register's state and last refresh",
    ("registry.console", "registry.investigations.service"): "counterparties and traces: address page, money graph",
    ("registry.console", "registry.investigations.models"): "the money graph's JSON is the investigations API's",
    ("registry.console", "registry.ops.service"): "the jobs page is GET /v1/jobs' list of jobs and their runs",
    ("registry.console", "registry.ops.models"): "type of the jobs page's list",
    ("registry.console", "registry.scoring.explain"): "the address page is the API's address view and explanation",
    ("registry.console", "registry.scoring.models"): "type of the address view",
    ("registry.console", "registry.scoring.rescore"): "the explanation follows the scoring's policy (policy_from)",
    ("registry.console", "registry.scoring.settings"): "the settings the scores were computed with",
    ("registry.console", "registry.evidence.service"): "the address page offers the evidence pack to download",
    ("registry.check", "registry.console.web"): "the public page renders with the console's page machinery",
    ("registry.check", "blocklist.domains.service"): "is this website a licensed exchange: the licensed check",
}
"""Known cross-feature imports: the documented debt (docs/architecture.md). Features should talk through each other's
``service`` module, or the shared piece move to the kernel; an entry goes when its import goes."""

KNOWN_CYCLES: dict[frozenset[str], str] = {}
"""Import cycles between units that are known and tolerated, each with its reason (none today)."""


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    type_only: bool

    def where(self) -> str:
        return f"{self.importer} (line {self.line}) imports {self.imported}"


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module ``name`` refers to (a name imported from a module resolves to that module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Collector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.type_only = 0
        self.found: list[Import] = []

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self.type_only += 1
        for child in node.body:
            self.visit(child)
        self.type_only -= 1
        for child in node.orelse:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")[: len(self.package.split(".")) - node.level + 1]
            name = ".".join(base + ([node.module] if node.module else []))
        else:
            name = node.module or ""
        for alias in node.names:
            submodule = f"{name}.{alias.name}"
            self._add(submodule if submodule in MODULES else name, node.lineno)

    def _add(self, name: str, line: int) -> None:
        if name.split(".")[0] not in PACKAGES:
            return
        target = _resolve(name)
        if target is not None and target != self.module:
            self.found.append(Import(self.module, target, line, self.type_only > 0))


def _imports() -> list[Import]:
    out: list[Import] = []
    for module, path in MODULES.items():
        collector = _Collector(module, path.name == "__init__.py")
        collector.visit(ast.parse(path.read_text(), filename=str(path)))
        out.extend(collector.found)
    return out


IMPORTS = _imports()


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def unit(module: str) -> str:
    top = module.split(".")[0]
    if top in ("chains", "blocklist"):
        return top
    if module in ASSEMBLY:
        return ASSEMBLY_UNIT
    if module == "registry" or any(_under(module, k) for k in KERNEL):
        return KERNEL_UNIT
    return ".".join(module.split(".")[:2])


def _cross_feature_entry(imp: Import) -> tuple[str, str] | None:
    for importer, imported in CROSS_FEATURE:
        if (unit(imp.importer) == importer or _under(imp.importer, importer)) and _under(imp.imported, imported):
            return importer, imported
    return None


def _between_units() -> Iterator[Import]:
    for imp in IMPORTS:
        if unit(imp.importer) != unit(imp.imported):
            yield imp


def test_the_graph_is_read() -> None:
    assert len(MODULES) > 100 and len(IMPORTS) > 500
    assert unit("registry.http.deps") == KERNEL_UNIT and unit("registry.ops.jobs") == KERNEL_UNIT
    assert unit("registry.ops.routes") == "registry.ops" and unit("registry.app") == ASSEMBLY_UNIT
    # type-only and function-level imports are seen too
    lifecycle = {
        i.type_only for i in IMPORTS if (i.importer, i.imported) == ("registry.ops.lifecycle", "registry.ops.scheduler")
    }
    assert lifecycle == {True, False}


def test_chains_imports_nothing_of_the_project() -> None:
    wrong = [i.where() for i in IMPORTS if unit(i.importer) == "chains" and unit(i.imported) != "chains"]
    assert not wrong, "chains is a library: it imports neither registry nor blocklist:\n" + "\n".join(wrong)


def test_nothing_imports_the_assembly() -> None:
    wrong = [i.where() for i in _between_units() if unit(i.imported) == ASSEMBLY_UNIT]
    assert not wrong, "only the composition root imports registry.app / features / cli / asgi:\n" + "\n".join(wrong)


def test_features_import_the_kernel_and_not_each_other() -> None:
    wrong = []
    for imp in _between_units():
        source, target = unit(imp.importer), unit(imp.imported)
        if source in ("chains", ASSEMBLY_UNIT) or target in ("chains", ASSEMBLY_UNIT):
            continue  # the rules of the two tests above
        if target == KERNEL_UNIT and source != KERNEL_UNIT:
            continue
        if _cross_feature_entry(imp) is None:
            wrong.append(imp.where())
    assert not wrong, (
        "an import across features (or from the kernel into a feature) that docs/architecture.md does not allow: "
        "go through the kernel, or move the shared piece into it; if it must stay, add it to CROSS_FEATURE with "
        "its reason:\n" + "\n".join(wrong)
    )


def test_every_cross_feature_entry_is_still_used() -> None:
    used = {entry for imp in _between_units() if (entry := _cross_feature_entry(imp)) is not None}
    stale = sorted(set(CROSS_FEATURE) - used)
    assert not stale, f"no import needs these any more: remove them from CROSS_FEATURE and the page: {stale}"


def _strongly_connected(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Tarjan's algorithm, iteratively; components of more than one unit (no unit imports itself here)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[frozenset[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(frozenset(component))
    return components


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _strongly_connected(defaultdict(set, graph)) == [frozenset("abc")]


def test_no_import_cycles_between_units() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for imp in _between_units():
        if not imp.type_only:
            graph[unit(imp.importer)].add(unit(imp.imported))
    cycles = {c for c in _strongly_connected(graph) if c not in KNOWN_CYCLES}
    assert not cycles, f"import cycles between packages or features: {[sorted(c) for c in cycles]}"
    stale = set(KNOWN_CYCLES) - set(_strongly_connected(graph))
    assert not stale, f"these cycles are gone: remove them from KNOWN_CYCLES: {[sorted(c) for c in stale]}"


def test_every_feature_is_in_the_one_list() -> None:
    from registry.features import FEATURES

    names = [f.name for f in FEATURES]
    assert len(names) == len(set(names)), names
    for module in [m for m in MODULES if m.endswith(".feature") and m != "registry.feature"]:
        assert importlib.import_module(module).FEATURE in FEATURES, f"{module}.FEATURE is not in registry.features"


def test_every_router_job_list_and_command_is_wired_through_a_feature() -> None:
    import typer

    from registry.cli import app
    from registry.features import FEATURES

    routers = [r for f in FEATURES for r in f.routers]
    jobs = [f.jobs for f in FEATURES if f.jobs is not None]
    clis = [f.cli for f in FEATURES if f.cli is not None]
    groups = [g.typer_instance for g in app.registered_groups]
    for module in MODULES:
        name = module.rpartition(".")[2]
        if name not in ("routes", "jobs", "cli") or unit(module) in (ASSEMBLY_UNIT, "chains"):
            continue
        loaded = importlib.import_module(module)
        if name == "routes":
            assert loaded.router in routers, f"{module}.router is in no feature's routers"
        elif name == "jobs":
            if module != "registry.ops.jobs":  # the contract itself
                assert loaded.jobs in jobs, f"{module}.jobs is in no feature's jobs"
        elif hasattr(loaded, "register"):
            assert loaded.register in clis, f"{module}.register is in no feature's cli"
        else:
            assert isinstance(loaded.app, typer.Typer) and loaded.app in groups, f"{module}.app is not a command group"


def _private_imports_across_units() -> list[str]:
    """``from other.unit import _name``: reaching into another unit's private names (a module's own package may)."""
    found: list[str] = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            if node.module.split(".")[0] not in PACKAGES or unit(node.module) == unit(module):
                continue
            found += [f"{module}:{node.lineno} {node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    return found


def test_no_unit_imports_another_units_private_names() -> None:
    assert _private_imports_across_units() == []
