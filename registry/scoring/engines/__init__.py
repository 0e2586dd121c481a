"""Scoring engines: one interface (``base.ScoringEngine``), two implementations computing the same exposure.

``sparse`` (default) propagates in this process on scipy sparse matrices; ``spark`` runs the same iteration as
DataFrame joins on a Spark cluster (or ``local[*]``) for graphs past one machine's memory. ``REGISTRY_SCORING_ENGINE``
picks one; ``registry.scoring.rescore`` drives either and applies the risk policy and the store to what it returns.
"""
