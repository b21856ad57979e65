"""Criterion 5 of docs/contracts.md §1.5: catalog-wide storage stays in the ~$100s/month
class (R2 storage about $0.015 per GB-month, no egress fees).

Per game, from one listing of ``games/{id}/``: the bytes of the v1 rendition (its init,
segments and playlists, ``master.v1.m3u8`` included), of the ladder (``abr/``) and of the
rest (``meta.json``, a source). The plan's projection of a game's ladder is the sum over
the rungs produced (or, for a v1 game, planned: no upscaling) of (video + audio bitrate) / 8
× the v1 duration; a game passes when its stored ladder is within ``TOLERANCE`` of it.

Totals per league and for the whole listed catalog: what is stored now, and what it will
be once every game is migrated (the audited games' projection per game, extrapolated to the
game count). The catalog passes while that stays under ``CEILING_USD_MONTH``. GB are 10⁹
bytes, as storage is billed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.abr.ledger import LedgerDocument
from services.audit.model import CriterionResult, judged, skip, sub
from services.ladder import Ladder, plan_rungs
from services.layout import GameKeys

PRICE_USD_PER_GB_MONTH = 0.015
"""R2 storage, US dollars per GB-month (the plan's figure; egress is free)."""
CEILING_USD_MONTH = 1000.0
"""The top of the "~$100s/month class": the catalog's projected bill must stay below it."""
TOLERANCE = 1.25
"""A game's stored ladder may exceed the plan's bitrate projection by 25 % (VBV peaks,
short last segments, container overhead)."""
GB = 1e9


def usd_per_month(size_bytes: float) -> float:
    """Monthly storage price of ``size_bytes`` (US dollars)."""
    return size_bytes / GB * PRICE_USD_PER_GB_MONTH


@dataclass(frozen=True)
class GameBytes:
    """One game's stored bytes (``v1``, ``ladder``, ``other``) and the plan's projection of
    its ladder (``projected_ladder``, bytes), ``migrated`` when a ladder is published."""

    game_id: str
    league: str
    v1: int
    ladder: int
    other: int
    projected_ladder: int
    migrated: bool

    @property
    def total(self) -> int:
        return self.v1 + self.ladder + self.other

    @property
    def projected_total(self) -> int:
        """Bytes once migrated: what is stored, with the projection for a missing ladder."""
        return self.v1 + self.other + (self.ladder if self.migrated else self.projected_ladder)

    def as_json(self) -> dict[str, Any]:
        return {
            "game_id": self.game_id,
            "league": self.league,
            "v1_bytes": self.v1,
            "ladder_bytes": self.ladder,
            "other_bytes": self.other,
            "projected_ladder_bytes": self.projected_ladder,
            "migrated": self.migrated,
            "usd_month": round(usd_per_month(self.total), 6),
        }


def game_bytes(
    keys: GameKeys,
    listing: dict[str, int],
    league: str,
    ledger: LedgerDocument | None,
    ladder: Ladder,
    v1_duration_s: float,
    v1_size: tuple[int, int] | None,
    migrated: bool,
) -> GameBytes:
    """Split ``listing`` (key → size) and project the ladder (module docstring)."""
    v1 = ladder_bytes = other = 0
    for key, size in listing.items():
        if key.startswith(keys.abr):
            ladder_bytes += size
        elif keys.is_v1_object(key) or key in (keys.master, keys.anchor):
            v1 += size
        else:
            other += size
    rates = {r.name: r.bitrate + r.audio_bitrate for r in ladder.rungs}
    if ledger is not None and ledger.renditions:
        names = [r.rung for r in ledger.renditions]
    elif v1_size is not None:
        names = [p.rung.name for p in plan_rungs(ladder, *v1_size)[0]]
    else:
        names = []
    projected = int(sum(rates.get(n, 0) for n in names) / 8 * v1_duration_s)
    return GameBytes(keys.game_id, league, v1, ladder_bytes, other, projected, migrated)


def game_cost(usage: GameBytes) -> CriterionResult:
    """Criterion 5 for one game: its ladder against the plan's projection."""
    evidence = usage.as_json()
    share = f"{usage.total / 1e6:.1f} MB stored (${usd_per_month(usage.total):.6f}/month)"
    if not usage.migrated:
        checks = [
            skip(
                "ladder.projection",
                f"not migrated: {share}, ladder projected {usage.projected_ladder / 1e6:.1f} MB",
            )
        ]
        return judged("cost", checks + [sub("stored", True, share)], evidence)
    limit = usage.projected_ladder * TOLERANCE
    ok = usage.projected_ladder == 0 or usage.ladder <= limit
    ratio = usage.ladder / usage.projected_ladder if usage.projected_ladder else 0.0
    checks = [
        sub(
            "ladder.projection",
            ok,
            f"ladder {usage.ladder / 1e6:.1f} MB = {ratio:.2f} × the "
            f"plan's {usage.projected_ladder / 1e6:.1f} MB (at most {TOLERANCE:.2f} ×)",
        ),
        sub("stored", True, share),
    ]
    return judged("cost", checks, evidence)


def summarize(
    games: list[GameBytes], league_counts: dict[str, int], catalog_count: int
) -> dict[str, Any]:
    """Totals per league and for the catalog (module docstring): bytes and $/month now and
    projected, extrapolated from the audited games to ``league_counts`` (games listed per
    league) and ``catalog_count``; ``verdict`` fails when the catalog's projection reaches
    ``CEILING_USD_MONTH``."""

    def block(rows: list[GameBytes], listed: int) -> dict[str, Any]:
        stored = sum(g.total for g in rows)
        projected = sum(g.projected_total for g in rows)
        per_game = projected / len(rows) if rows else 0.0
        catalog_projection = per_game * max(listed, len(rows))
        return {
            "audited_games": len(rows),
            "listed_games": listed,
            "stored_bytes": stored,
            "stored_usd_month": round(usd_per_month(stored), 6),
            "projected_bytes_per_game": int(per_game),
            "projected_bytes": int(catalog_projection),
            "projected_usd_month": round(usd_per_month(catalog_projection), 6),
        }

    leagues = {}
    for league in sorted({g.league for g in games}):
        rows = [g for g in games if g.league == league]
        leagues[league or "(none)"] = block(rows, league_counts.get(league, len(rows)))
    catalog = block(games, catalog_count)
    ok = catalog["projected_usd_month"] < CEILING_USD_MONTH
    dollars = catalog["projected_usd_month"]
    shown = f"{dollars:.2f}" if dollars >= 1 else f"{dollars:.6f}"
    return {
        "price_usd_per_gb_month": PRICE_USD_PER_GB_MONTH,
        "ceiling_usd_month": CEILING_USD_MONTH,
        "leagues": leagues,
        "catalog": catalog,
        "verdict": "pass" if ok else "fail",
        "summary": (
            f"catalog projected ${shown}/month for "
            f"{catalog['listed_games']} games once migrated "
            f"({'under' if ok else 'over'} the ${CEILING_USD_MONTH:.0f}/month ceiling)"
        ),
    }
