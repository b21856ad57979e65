"""The migration audit (issue 15): the v1 → v1.5 success criteria of docs/contracts.md §1.5,
per game and per league, checked through the viewer-facing gate, playback and clip APIs.

``game_audit.MigrationAudit`` is the job operation; ``criteria`` (1, 2, 4),
``auth_matrix`` (3) and ``cost`` (5) judge; ``gate_client`` sees what viewers get;
``decode`` decodes what was served; ``baseline`` keeps the pre-migration URLs; ``report``
is the saved report's schema.
"""
