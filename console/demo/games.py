"""The demo's games: which window of the shipped clip each one is, and in which state.

The demo seed (``console.demo.seed``) packages every ``DemoGame`` of ``DEMO_GAMES`` as a
v1 HLS game; the demo assets API marks the broken one's asset failed. Each game is a
window of the Big Buck Bunny trailer counted in frames at ``FPS``: every window starts on
a keyframe of the clip and ends just before one (or at the clip's end), so a ``-c copy``
cut keeps whole GOPs. Changing a game here changes the seed: bump
``console.demo.seed.SEED_VERSION``.
"""

from __future__ import annotations

from dataclasses import dataclass

FPS = 24
"""Frame rate of the shipped clip (frames are counted at this rate in ``DemoGame``)."""

CLIP_FRAMES = 1323
"""Number of video frames in the shipped clip (55.125 s)."""


@dataclass(frozen=True)
class DemoGame:
    """One seeded game.

    ``start_frame``/``end_frame`` delimit the window of the clip (frame numbers at ``FPS``,
    end exclusive; ``end_frame=None`` means the end of the clip). ``kind`` is ``"v1"``,
    ``"partial"`` (a 360p rung, v1 master kept) or ``"broken"`` (a referenced segment is
    missing).
    """

    id: str
    title: str
    league: str
    date: str  # ISO-8601 date, YYYY-MM-DD
    home: str
    away: str
    start_frame: int = 0
    end_frame: int | None = None
    kind: str = "v1"

    @property
    def prefix(self) -> str:
        """The bucket prefix of the game, ``games/{id}/``."""
        return f"games/{self.id}/"

    @property
    def frames(self) -> int:
        """Number of video frames in the game's window."""
        return (self.end_frame or CLIP_FRAMES) - self.start_frame

    @property
    def duration(self) -> float:
        """Duration of the window in seconds."""
        return self.frames / FPS

    def meta(self) -> dict[str, str]:
        """The ``meta.json`` document: ``{"title", "league", "date", "home", "away"}``."""
        return {
            "title": self.title,
            "league": self.league,
            "date": self.date,
            "home": self.home,
            "away": self.away,
        }


# fmt: off
DEMO_GAMES: tuple[DemoGame, ...] = (
    DemoGame(
        "nfl-2026-w11-kc-buf", "Kansas City Chiefs at Buffalo Bills", "NFL", "2026-11-22",
        "Buffalo Bills", "Kansas City Chiefs",
    ),
    DemoGame(
        "nfl-2026-w11-phi-dal", "Philadelphia Eagles at Dallas Cowboys", "NFL", "2026-11-23",
        "Dallas Cowboys", "Philadelphia Eagles", 0, 589,
    ),
    DemoGame(
        "nba-2026-11-18-bos-lal", "Boston Celtics at Los Angeles Lakers", "NBA", "2026-11-18",
        "Los Angeles Lakers", "Boston Celtics", 250, 864,
    ),
    DemoGame(
        "nba-2026-11-19-gsw-den", "Golden State Warriors at Denver Nuggets", "NBA",
        "2026-11-19", "Denver Nuggets", "Golden State Warriors", 339, 988,
    ),
    DemoGame(
        "mls-2026-cup-r1-sea-lafc", "Seattle Sounders FC at LAFC", "MLS", "2026-11-01",
        "LAFC", "Seattle Sounders FC", 589, None,
    ),
    DemoGame(
        "mls-2026-cup-r1-cin-mia", "FC Cincinnati at Inter Miami CF", "MLS", "2026-11-07",
        "Inter Miami CF", "FC Cincinnati", 769, None,
    ),
    DemoGame(
        "nba-2026-11-20-mil-nyk", "Milwaukee Bucks at New York Knicks", "NBA", "2026-11-20",
        "New York Knicks", "Milwaukee Bucks", 250, 1049, kind="partial",
    ),
    DemoGame(
        "nfl-2026-w12-sf-sea", "San Francisco 49ers at Seattle Seahawks", "NFL", "2026-11-29",
        "Seattle Seahawks", "San Francisco 49ers", 250, None, kind="broken",
    ),
)
# fmt: on
"""Six v1 games over three leagues, one partial and one broken game."""
