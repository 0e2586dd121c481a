"""The web console for investigators and supervisors (server-rendered, ru/kk/en)."""
