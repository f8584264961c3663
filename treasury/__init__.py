"""The treasury (issue #16): the master-key process that keeps capital across sub-accounts at
their target weights.

Modules: ``plan`` (pure: balances -> transfers), ``snapshot`` (what OKX reports, as plan input),
``execute`` (send, confirm, journal and notify each transfer, honouring the traders' bar locks),
``journal`` (SQLite, write-ahead), ``service`` (``--plan`` / ``--once`` / daily schedule),
``__main__`` (``python -m treasury``).
"""
