"""The web console for investigators and supervisors (server-rendered, ru/kk/en)."""

from registry.feature import Feature

FEATURE = Feature(name="console")
