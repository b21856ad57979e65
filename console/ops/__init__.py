"""Qt-free operations shared by the GUI and the CLI: which games a backfill or spot-check
request covers and the job each runs, the ad-break flow (send, audit, verify), asset retries.
A feature is ``ops/<feature>.py`` plus its view in ``views/`` and its command in
``console/cli/``."""
