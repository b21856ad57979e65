"""Player panel: the video surface, transport (play/pause, seek slider, frame step), a
stats overlay and mpv-like keys. It drives a ``player.controller.Player`` it is given."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QIcon
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from player.keys import PlayerKeyHandler
from views.formatting import human_duration

SLIDER_STEPS = 10_000
KEY_HELP = (
    "Space play/pause · , . frame back/forward · ←/→ 5 s · ↑/↓ 60 s · "
    "Shift+←/→ 1 s exact · Home start · I stats"
)


class PlayerPanel(QWidget):
    """Video + transport. ``player`` is a ``Player``; ``video`` its video widget."""

    def __init__(self, player, video: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self.video = video
        self._duration = 0.0
        self._dragging = False

        self.title = QLabel("Nothing loaded — pick a rendition and press Play")
        self.title.setObjectName("muted")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stats = QLabel("")
        self.stats.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.stats.setObjectName("stats")
        self.stats.setVisible(False)

        icons = QStyle.StandardPixmap
        self._play_icon = self.style().standardIcon(icons.SP_MediaPlay)
        self._pause_icon = self.style().standardIcon(icons.SP_MediaPause)
        self.play_button = self._button(self._play_icon, "Play/pause (Space)", player.toggle_pause)
        back = self._button(
            self.style().standardIcon(icons.SP_MediaSeekBackward),
            "One frame back (,)",
            player.frame_back_step,
        )
        step = self._button(
            self.style().standardIcon(icons.SP_MediaSeekForward),
            "One frame forward (.)",
            player.frame_step,
        )
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setToolTip("Seek (exact)")
        self.time_label = QLabel("--:-- / --:--")
        self.time_label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        stats_button = self._button("Stats", "Statistics overlay (I)", self.toggle_stats)

        transport = QHBoxLayout()
        for widget in (self.play_button, back, step):
            transport.addWidget(widget)
        transport.addWidget(self.slider, 1)
        transport.addWidget(self.time_label)
        transport.addWidget(stats_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(video, 1)
        layout.addWidget(self.stats)
        layout.addLayout(transport)
        hint = QLabel(KEY_HELP)
        hint.setObjectName("muted")
        layout.addWidget(hint)

        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        video.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.keys = PlayerKeyHandler(player, self, on_toggle_stats=self.toggle_stats)
        for widget in (self, video, self.slider):
            widget.installEventFilter(self.keys)
        self.slider.sliderPressed.connect(lambda: setattr(self, "_dragging", True))
        self.slider.sliderReleased.connect(self._seek_to_slider)
        self.slider.actionTriggered.connect(self._on_slider_action)
        player.position_changed.connect(self._on_position)
        player.duration_changed.connect(self._on_duration)
        player.pause_changed.connect(self._on_pause)
        player.loaded.connect(self._on_loaded)
        player.stats_changed.connect(self._on_stats)

    def _button(self, face: QIcon | str, tip: str, slot) -> QToolButton:
        button = QToolButton()
        if isinstance(face, QIcon):
            button.setIcon(face)
        else:
            button.setText(face)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        return button

    def toggle_stats(self) -> None:
        self.stats.setVisible(not self.stats.isVisible())

    def _on_loaded(self, title: str) -> None:
        self.title.setText(title)
        self.setFocus()

    def _on_duration(self, seconds: float) -> None:
        self._duration = seconds

    def _on_position(self, seconds: float) -> None:
        self.time_label.setText(f"{human_duration(seconds)} / {human_duration(self._duration)}")
        if self._duration > 0 and not self._dragging:
            self.slider.blockSignals(True)
            self.slider.setValue(int(SLIDER_STEPS * seconds / self._duration))
            self.slider.blockSignals(False)

    def _on_pause(self, paused: bool) -> None:
        self.play_button.setIcon(self._play_icon if paused else self._pause_icon)

    def _on_stats(self, stats) -> None:
        fps = f"{stats.fps:.3f} fps" if stats.fps else "fps —"
        bitrate = (
            f"{stats.video_bitrate_bps / 1e6:.2f} Mb/s" if stats.video_bitrate_bps else "bitrate —"
        )
        parts = [
            f"{stats.width}x{stats.height}" if stats.width else "size —",
            stats.video_codec or "codec —",
            fps,
            bitrate,
            f"dropped {stats.dropped_frames}",
            f"variant {stats.variant.label}" if stats.variant else "single rendition",
            f"cache {stats.cache_seconds:.1f} s" if stats.cache_seconds is not None else "",
        ]
        self.stats.setText("  ·  ".join(p for p in parts if p))

    def _on_slider_action(self, _action: int) -> None:
        if not self._dragging:
            self._seek_to_slider()

    def _seek_to_slider(self) -> None:
        self._dragging = False
        self.player.seek_fraction(self.slider.sliderPosition() / SLIDER_STEPS)

