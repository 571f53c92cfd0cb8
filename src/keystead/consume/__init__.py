"""Consuming stored secrets: what ``keystead run``, ``keystead secrets export``,
``keystead.secrets.get`` and the pydantic-settings source share.

- ``envnames``: a secret's field name as an environment variable name.
- ``dotenv``: reading env files whose values may be references, writing dotenv.
- ``plan``: which variables come from which secret (``--path``, ``--env-file``,
  ``--map``), resolved through one reader, each secret read once.
- ``masking``: a byte-stream filter that hides secret values, across chunks.
- ``child``: the child process of ``keystead run``: signals, exit codes, pumps.
- ``watch``: noticing that a referenced secret changed.
- ``formats`` and ``gitcheck``: what ``secrets export`` writes, and where not to.

Nothing here writes a value to disk or to a log.
"""
