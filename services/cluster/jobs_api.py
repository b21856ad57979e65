"""Client of Ray's Jobs REST API on the head node's dashboard port (Ray 2.x,
``ray/dashboard/modules/job``): ``POST /api/jobs/``, ``GET /api/jobs/{id}``,
``GET /api/jobs/{id}/logs``, ``POST /api/jobs/{id}/stop``, plus ``GET /api/version`` and
``GET /api/cluster_status`` for the status bar.

With token authentication on (``RAY_AUTH_MODE=token``) every request carries
``Authorization: Bearer <token>``. Errors are the console's: ``Unreachable`` (connection
refused, timeout), ``AccessDenied`` (401/403), ``NotFound`` (404), ``UpstreamError``
(5xx), ``BadResponse`` (a body that is not the API's JSON); each message names the
cluster's address and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from services.errors import AccessDenied, BadResponse, NotFound, Unreachable, UpstreamError

#: Ray job states (``ray.job_submission.JobStatus``) that will not change any more
TERMINAL_STATES = frozenset({"STOPPED", "SUCCEEDED", "FAILED"})
TIMEOUT_S = 15.0


@dataclass(frozen=True)
class ClusterVersion:
    """``GET /api/version``: ``ray_version`` (e.g. ``"2.60.0"``) and ``session_name``."""

    ray_version: str
    session_name: str


@dataclass(frozen=True)
class ClusterResources:
    """The status bar's figures: alive ``nodes``, ``cpus_total`` and ``cpus_free``
    (logical CPUs, Ray's ``CPU`` resource)."""

    nodes: int
    cpus_total: float
    cpus_free: float


@dataclass(frozen=True)
class RayJob:
    """``GET /api/jobs/{id}``: ``status`` (PENDING, RUNNING, STOPPED, SUCCEEDED, FAILED),
    ``message``, ``metadata`` (str → str), ``entrypoint``, ``runtime_env`` (as stored),
    ``start_time``/``end_time`` in Unix seconds (None when not yet)."""

    submission_id: str
    status: str
    message: str
    metadata: dict[str, str]
    entrypoint: str
    runtime_env: dict[str, Any]
    start_time: float | None
    end_time: float | None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATES

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> RayJob:
        def seconds(value: Any) -> float | None:
            return value / 1000.0 if isinstance(value, (int, float)) and value else None

        return cls(
            submission_id=str(doc.get("submission_id") or doc.get("job_id") or ""),
            status=str(doc.get("status") or ""),
            message=str(doc.get("message") or ""),
            metadata={str(k): str(v) for k, v in (doc.get("metadata") or {}).items()},
            entrypoint=str(doc.get("entrypoint") or ""),
            runtime_env=dict(doc.get("runtime_env") or {}),
            start_time=seconds(doc.get("start_time")),
            end_time=seconds(doc.get("end_time")),
        )


class RayJobsClient:
    """Async client of one cluster's Jobs API at ``address`` (``http://HEAD:8265``);
    ``token`` is the cluster's auth token (None: no authentication). ``aclose()`` when done.
    """

    def __init__(self, address: str, token: str | None = None, *, timeout_s: float = TIMEOUT_S):
        self.address = address.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(
            base_url=self.address, headers=headers, timeout=timeout_s, trust_env=False
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise Unreachable(
                f"The Ray cluster at {self.address} did not answer in time ({exc or 'timeout'}): "
                "check that its head node runs (main.py cluster status)."
            ) from exc
        except httpx.HTTPError as exc:
            raise Unreachable(
                f"The Ray cluster at {self.address} is not reachable ({exc}): start it "
                "(main.py cluster start for the demo) or fix the profile's --ray-address."
            ) from exc
        if response.status_code in (401, 403):
            raise AccessDenied(
                f"The Ray cluster at {self.address} refused the console's token "
                f"(HTTP {response.status_code}: {response.text[:120].strip()}): set the right "
                "one with `main.py profile set-token PROFILE ray`."
            )
        if response.status_code == 404:
            raise NotFound(f"{path} is not on the Ray cluster at {self.address}.")
        if response.status_code >= 500:
            raise UpstreamError(
                f"The Ray cluster at {self.address} failed the request {method} {path} "
                f"(HTTP {response.status_code}: {_first_line(response.text)})."
            )
        if response.status_code >= 400:
            raise BadResponse(
                f"The Ray cluster at {self.address} refused {method} {path} "
                f"(HTTP {response.status_code}: {_first_line(response.text)})."
            )
        return response

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise BadResponse(
                f"The Ray cluster at {self.address} answered {path} with something that is "
                f"not JSON: {_first_line(response.text)}"
            ) from exc

    async def version(self) -> ClusterVersion:
        """The cluster's Ray version. Raises as the module docstring says."""
        doc = await self._json("GET", "/api/version")
        if not isinstance(doc, dict) or not doc.get("ray_version"):
            raise BadResponse(f"{self.address}/api/version is not a Ray dashboard's answer.")
        return ClusterVersion(str(doc["ray_version"]), str(doc.get("session_name") or ""))

    async def resources(self) -> ClusterResources:
        """Alive nodes and free/total CPUs (``/api/cluster_status``'s load report)."""
        doc = await self._json("GET", "/api/cluster_status")
        report = ((doc.get("data") or {}).get("clusterStatus") or {}).get("loadMetricsReport")
        report = report or {}
        used, total = (report.get("usage") or {}).get("CPU") or (0.0, 0.0)
        nodes = len(report.get("usageByNode") or {})
        return ClusterResources(nodes, float(total), max(0.0, float(total) - float(used)))

    async def submit(
        self,
        *,
        submission_id: str,
        entrypoint: str,
        runtime_env: dict[str, Any],
        metadata: dict[str, str],
        entrypoint_num_cpus: float = 0,
    ) -> str:
        """Submit a job; returns its submission id. Raises as the module docstring says
        (a submission id already in use is a 500 from Ray: check ``get`` first)."""
        doc = await self._json(
            "POST",
            "/api/jobs/",
            json={
                "submission_id": submission_id,
                "entrypoint": entrypoint,
                "runtime_env": runtime_env,
                "metadata": metadata,
                "entrypoint_num_cpus": entrypoint_num_cpus,
            },
        )
        return str(doc.get("submission_id") or submission_id)

    async def has_package(self, uri: str) -> bool:
        """Whether the cluster holds the ``working_dir`` package ``uri``
        (``gcs://_ray_pkg_….zip``)."""
        try:
            await self._request("GET", f"/api/packages/gcs/{uri.removeprefix('gcs://')}")
            return True
        except NotFound:
            return False

    async def upload_package(self, uri: str, data: bytes) -> None:
        """Upload the zip ``data`` as the package ``uri``."""
        await self._request("PUT", f"/api/packages/gcs/{uri.removeprefix('gcs://')}", content=data)

    async def get(self, submission_id: str) -> RayJob:
        """The job's state. Raises ``NotFound`` for an unknown id."""
        return RayJob.from_json(await self._json("GET", f"/api/jobs/{submission_id}"))

    async def find(self, submission_id: str) -> RayJob | None:
        """``get``, None for an unknown id."""
        try:
            return await self.get(submission_id)
        except NotFound:
            return None

    async def jobs(self) -> list[RayJob]:
        """Every job the cluster remembers."""
        doc = await self._json("GET", "/api/jobs/")
        return [RayJob.from_json(j) for j in doc if isinstance(j, dict)]

    async def logs(self, submission_id: str) -> str:
        """The driver's whole log so far (workers' prints are forwarded into it)."""
        doc = await self._json("GET", f"/api/jobs/{submission_id}/logs")
        return str(doc.get("logs") or "")

    async def stop(self, submission_id: str) -> bool:
        """Ask Ray to stop the job (SIGTERM to the driver, SIGKILL later); True when it was
        running."""
        doc = await self._json("POST", f"/api/jobs/{submission_id}/stop")
        return bool(doc.get("stopped"))


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return (
        (lines[-1] if lines and lines[0].startswith("Traceback") else lines[0])[:200]
        if lines
        else ""
    )
