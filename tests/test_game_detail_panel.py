"""The game detail panel's ledger tab: the typed ledger shown as its canonical JSON text,
an unreadable ledger shown with the reason, no ledger shown as not backfilled."""

from __future__ import annotations

from dataclasses import replace

from services.catalog import GameDetail, GameState, GameSummary
from tests.test_catalog import ledger_for
from views.game_detail_panel import GameDetailPanel


def test_the_ledger_tab_renders_the_typed_ledger(qtbot) -> None:
    panel = GameDetailPanel(controller=None)
    qtbot.addWidget(panel)
    summary = GameSummary("g", state=GameState.V15, reason="2 rungs + v1 anchor")
    ledger = ledger_for("g")
    panel.show_detail(GameDetail(summary, (), (), "#EXTM3U\n", ledger))
    assert panel.ledger_text.toPlainText() == ledger.to_text()
    assert '"rung": "720p"' in panel.ledger_text.toPlainText()

    problem = "games/g/abr/renditions.json is not a readable packaging ledger (game_id: missing)."
    panel.show_detail(
        GameDetail(
            replace(summary, state=GameState.BROKEN), (), (), "", None, ledger_problem=problem
        )
    )
    assert panel.ledger_text.toPlainText() == f"(unreadable: {problem})"

    panel.show_detail(GameDetail(replace(summary, state=GameState.V1), (), (), "", None))
    assert panel.ledger_text.toPlainText() == "(no abr/renditions.json: not backfilled)"
