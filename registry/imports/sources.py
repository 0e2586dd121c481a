"""Where a sanctions import reads from: a directory of per-asset text files, single files, the XML, or a URL."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from registry.errors import InvalidInput, UpstreamError
from registry.imports import ofac

OFAC_SDN_ADVANCED_URL = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN_ADVANCED.XML"


def _download(url: str, timeout: float = 60.0) -> Path:
    session = requests.Session()
    retry = Retry(total=4, backoff_factor=1.0, status_forcelist=(429, 500, 502, 503, 504), allowed_methods=("GET",))
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    try:
        with session.get(url, stream=True, timeout=timeout) as r:
            r.raise_for_status()
            suffix = ".zip" if url.lower().endswith(".zip") else (".xml" if "xml" in url.lower() else ".txt")
            tmp = tempfile.NamedTemporaryFile(delete=False, suffix=suffix)  # noqa: SIM115 - path handed back
            with tmp:
                for chunk in r.iter_content(1 << 20):
                    tmp.write(chunk)
            return Path(tmp.name)
    except requests.RequestException as e:
        raise UpstreamError(f"could not fetch {url}: {e}") from None


def read_sources(
    locations: list[str], asset: str | None = None
) -> tuple[Iterator[ofac.SanctionEntry | ofac.Rejected], set[str]]:
    """Entries from every location, and the set of assets the import covers (only those can be delisted;
    ``ofac.ALL_ASSETS`` for the XML, which covers every asset)."""
    scope: set[str] = set()
    iterators: list[Iterator[ofac.SanctionEntry | ofac.Rejected]] = []
    for loc in locations:
        path = _download(loc) if loc.startswith(("http://", "https://")) else Path(loc)
        if not path.exists():
            raise InvalidInput(f"{loc}: no such file or directory")
        if path.is_dir():
            files = sorted(path.glob("sanctioned_addresses_*.txt"))
            if not files:
                raise InvalidInput(f"{loc}: no sanctioned_addresses_<ASSET>.txt files in this directory")
            for f in files:
                a = ofac.asset_of_file(f.name)
                assert a is not None
                scope.add(a)
                iterators.append(ofac.parse_text_list(a, f.name, f.read_bytes()))
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                names = [n for n in z.namelist() if n.lower().endswith(".xml")]
                if not names:
                    raise InvalidInput(f"{loc}: the archive holds no XML file")
                data = z.read(names[0])
            scope.add(ofac.ALL_ASSETS)
            iterators.append(ofac.parse_sdn_advanced(data, names[0]))
        elif path.suffix.lower() == ".xml" or path.read_bytes()[:64].lstrip().startswith(b"<?xml"):
            scope.add(ofac.ALL_ASSETS)
            iterators.append(ofac.parse_sdn_advanced(path.read_bytes(), path.name))
        else:
            a = asset or ofac.asset_of_file(path.name)
            if a is None:
                raise InvalidInput(
                    f"{loc}: cannot tell the asset; name the file sanctioned_addresses_<ASSET>.txt or pass --asset"
                )
            scope.add(a)
            iterators.append(ofac.parse_text_list(a, path.name, path.read_bytes()))

    def chained() -> Iterator[ofac.SanctionEntry | ofac.Rejected]:
        for it in iterators:
            yield from it

    return chained(), scope
