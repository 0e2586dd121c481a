"""Typologies and red flags: the catalogue and candidate routes, ``registry typologies``, the loader that puts red
flags into the screening snapshot, and the indicators computed with every rescoring.

The rescoring calls the indicators through ``registry.scoring.rescore.HOOKS`` (scoring imports no typology code,
which imports scoring's pricing): registered here, when the one feature list imports this module, which every entry
point (app, worker, ``registry score``) does before it rescores.
"""

from registry.feature import Feature, command_group
from registry.scoring import rescore
from registry.typologies import cli, routes, service, snapshot

if service.rescore_hook not in rescore.HOOKS:
    rescore.HOOKS.append(service.rescore_hook)

FEATURE = Feature(
    name="typologies",
    routers=[routes.router],
    install=snapshot.install,
    cli=command_group("typologies", cli.app),
)
