"""The one prologue of every CLI command: open the profile's services, close everything.

::

    async def run_thing(args) -> int:
        async with CliSession(args.profile, needs="cues") as session:
            ...                       # session.context, session.runner
            return 0

Errors leave the block as they are and ``console.cli.entry.main`` maps them to exit codes
in one place: 1 for a ``ServiceError`` (its ``describe`` sentence on stderr), 2 for
``Unusable`` (no such API on this profile, no confirmation possible, a usage problem). A
refused credential on a production profile gains the command that fixes it.
"""

from __future__ import annotations

from typing import Literal

from console.context import AppContext, open_context
from console.paths import jobs_db_path
from services.errors import AccessDenied
from services.jobs.runner import JobRunner


class Unusable(Exception):
    """The command cannot run as asked; ``str(exc)`` says why and what to do (exit 2)."""


class CliSession:
    """An async context manager over one command's services.

    ``profile``: the profile name (None: the file's default, else the demo stack).
    ``needs``: ``"assets"`` / ``"cues"`` when the command needs that API (raises
    ``Unusable`` with the profile's reason otherwise). ``jobs``: also open the shared job
    history and runner (``session.runner``; its jobs are cancelled and the history closed
    on exit). Raises ``ServiceError`` (e.g. ``BadConfig``) when the profile cannot open.
    """

    def __init__(
        self,
        profile: str | None,
        *,
        needs: Literal["assets", "cues"] | None = None,
        jobs: bool = False,
    ) -> None:
        self.profile = profile
        self.needs = needs
        self.jobs = jobs
        self._context: AppContext | None = None
        self.runner: JobRunner | None = None

    @property
    def context(self) -> AppContext:
        """The open services (inside the ``async with`` block)."""
        assert self._context is not None, "CliSession used outside its async with block"
        return self._context

    async def __aenter__(self) -> CliSession:
        self._context = await open_context(self.profile)
        if self.needs is not None and getattr(self._context, self.needs) is None:
            problem = getattr(self._context, f"{self.needs}_problem")
            await self._context.aclose()
            what = "assets API" if self.needs == "assets" else "cue service"
            raise Unusable(f"The {what} is not available: {problem}.")
        if self.jobs:
            self.runner = JobRunner.at(jobs_db_path())
        return self

    async def __aexit__(self, kind, exc, tb) -> None:
        if self.runner is not None:
            await self.runner.aclose()
        await self.context.aclose()
        if isinstance(exc, AccessDenied) and not self.context.profile.is_demo:
            raise AccessDenied(f"{exc} Fix its credentials: {self._credentials_hint()}") from exc

    def _credentials_hint(self) -> str:
        name = self.context.profile.name
        if self.needs in ("assets", "cues"):
            return f"main.py profile set-token {name} {self.needs}"
        return f"main.py profile set-keys {name}"
