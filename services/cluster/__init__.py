"""Backfill and spot-check batches on a Ray cluster (issue 14), with no scheduler of ours.

- ``jobs_api``: the console's client of Ray's Jobs REST API (httpx; the console never
  imports ``ray``);
- ``batch``: one batch as a jobs-model operation: submit or attach, follow the logs,
  per-game rows, stop on cancel;
- ``package``: the ``working_dir`` the job runs (the console's ``services/`` and ladder
  files) and its fingerprint;
- ``driver`` and ``tasks``: what runs **on the cluster**: the job's entrypoint and the
  per-game task around the same ``GameBackfill`` / ``GameSpotcheck`` as the local path;
- ``events``: the ``VOC-EVENT`` lines between the two sides;
- ``local_head``: the loopback head of the demo profile and the tests.
"""
