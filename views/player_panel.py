"""Player panel: the video surface, transport (play/pause, seek slider, frame step), a
stats overlay and mpv-like keys. It drives a ``player.controller.Player`` it is given.
With a clip controller (``console.gui.clip_controller.ClipController``) it also has in/out
points (``[`` / ``]``) and a Clip menu: preview, save, check a server clip."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from player.keys import CLIP_KEY_BINDINGS, CLIP_KEYS, KEY_BINDINGS, PlayerKeyHandler, help_line
from views.formatting import human_duration
from views.tool_button import tool_button

SLIDER_STEPS = 10_000
#: The one-line key help, generated from ``player.keys`` (the clip keys are appended to
#: it when the panel has a clip controller).
KEY_HELP = help_line(KEY_BINDINGS)
CLIP_KEY_HELP = " · " + help_line(CLIP_KEY_BINDINGS)


class PlayerPanel(QWidget):
    """Video + transport. ``player`` is a ``Player``; ``video`` its video widget;
    ``clips`` an optional clip controller (in/out points, clip preview/save/check)."""

    def __init__(self, player, video: QWidget, parent: QWidget | None = None, clips=None) -> None:
        super().__init__(parent)
        self.player = player
        self.video = video
        self.clips = clips
        self._duration = 0.0
        self._dragging = False
        self._live = False

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
        self.play_button = tool_button(self._play_icon, "Play/pause (Space)", player.toggle_pause)
        back = tool_button(
            self.style().standardIcon(icons.SP_MediaSeekBackward),
            "One frame back (,)",
            player.frame_back_step,
        )
        step = tool_button(
            self.style().standardIcon(icons.SP_MediaSeekForward),
            "One frame forward (.)",
            player.frame_step,
        )
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setToolTip("Seek (exact)")
        self.time_label = QLabel("--:-- / --:--")
        self.time_label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        stats_button = tool_button("Stats", "Statistics overlay (I)", self.toggle_stats)

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
        hint = QLabel(KEY_HELP + (CLIP_KEY_HELP if clips is not None else ""))
        hint.setObjectName("muted")
        hint.setWordWrap(True)  # else its one long line sets the panel's minimum width
        layout.addWidget(hint)
        self.clip_label = QLabel("")
        if clips is not None:
            self._add_clip_controls(transport, layout)

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

    def _add_clip_controls(self, transport: QHBoxLayout, layout: QVBoxLayout) -> None:
        clips = self.clips
        mark_in = tool_button(
            "[ In",
            "Clip in point at the current position ([)",
            lambda: clips.mark_in(self.player.position),
        )
        mark_out = tool_button(
            "Out ]",
            "Clip out point at the current position (])",
            lambda: clips.mark_out(self.player.position),
        )
        menu = QMenu(self)
        menu.addAction("Preview clip", clips.preview)
        menu.addAction("Save clip playlist…", self._save_clip)
        menu.addAction("Check a server clip…", self._check_clip)
        menu.addAction("Clear in/out", clips.clear)
        self.clip_button = tool_button(
            "Clip", "Clip of the stored segments between in and out", lambda: None
        )
        self.clip_button.setMenu(menu)
        self.clip_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        for widget in (mark_in, mark_out, self.clip_button):
            transport.insertWidget(transport.count() - 1, widget)
        self.clip_label.setObjectName("muted")
        layout.insertWidget(layout.indexOf(self.stats) + 1, self.clip_label)
        clips.changed.connect(self.clip_label.setText)
        clips.checked.connect(self._show_check)

    def _save_clip(self) -> None:
        if self.clips.clip is None:
            self.clips.preview()  # reports what is missing
            return
        name = f"{self.clips.game_id}_{self.clips.rendition_name}_clip.m3u8"
        path, _ = QFileDialog.getSaveFileName(
            self, "Save clip playlist", name, "HLS playlist (*.m3u8)"
        )
        if path:
            self.clips.save(path)

    def _check_clip(self) -> None:
        location, ok = QInputDialog.getText(
            self,
            "Check a server clip",
            f"URL or file of a clip playlist to check against "
            f"{self.clips.game_id or '?'} {self.clips.rendition_name or '?'}:",
        )
        if ok and location.strip():
            self.clips.check(location)

    def _show_check(self, result) -> None:
        lines = [result.summary()]
        lines += [
            f"{i.status}: {i.uri} — {i.note}" for i in result.items if i.status != "ok" or i.note
        ][:20]
        box = QMessageBox(self)
        box.setWindowTitle("Clip check")
        box.setIcon(QMessageBox.Icon.Information if result.ok else QMessageBox.Icon.Warning)
        box.setText("\n".join(lines))
        box.open()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        """``[`` / ``]`` set the clip in/out points (``player.keys.CLIP_KEY_BINDINGS``; the
        player's keys are handled by its ``PlayerKeyHandler``)."""
        binding = CLIP_KEYS.binding_for(event.key(), event.modifiers())
        if self.clips is not None and binding is not None:
            mark = self.clips.mark_in if binding.action == "clip_in" else self.clips.mark_out
            mark(self.player.position)
            return
        super().keyPressEvent(event)

    def toggle_stats(self) -> None:
        self.stats.setVisible(not self.stats.isVisible())

    def _on_loaded(self, title: str) -> None:
        self.title.setText(title)
        source = self.player.source
        self._live = bool(source is not None and source.live)
        self.slider.setVisible(not self._live)  # a live window has no fixed timeline
        if self._live:
            self.time_label.setText("● LIVE")
            self.time_label.setToolTip(
                "A live channel: playback joins three target durations behind the live edge "
                "(RFC 8216 §6.3.3), so it shows what viewers see a few seconds later"
            )
        else:
            self.time_label.setToolTip("")
        self.setFocus()

    def _on_duration(self, seconds: float) -> None:
        self._duration = seconds

    def _on_position(self, seconds: float) -> None:
        if self._live:
            return
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
