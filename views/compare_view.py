"""The compare view: two renditions in lockstep as a wipe, side by side, an amplified
difference or A/B toggled, with shared zoom/pan, per-side offsets, frame counters, PSNR/SSIM
of the frame on screen and PNG export (anchors: pixop/video-compare, Vivict++).

It receives a ``console.gui.compare_controller.CompareController`` and only connects to its
signals and its synchronized pair's; it does no I/O (export paths come from a dialog, the
controller writes the files).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import Qt, QTimer, SignalInstance
from PySide6.QtGui import QFontDatabase, QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from player.compare_keys import COMPARE_KEY_BINDINGS, COMPARE_KEYS, COMPARE_MOUSE_HELP
from player.keys import help_line
from player.sync_pair import SyncedPair
from views.compare_canvas import CompareCanvas, CompareMode
from views.frame_compose import DIFFERENCE_GAINS
from views.tool_button import tool_button

SLIDER_STEPS = 10_000
ZOOM_STEP = 1.5
#: The one-line key help, generated from ``player.compare_keys``.
KEY_HELP = help_line(COMPARE_KEY_BINDINGS, COMPARE_MOUSE_HELP)


def side_text(name: str, state) -> str:
    """``"A · 720p — frame 120 · 5.083 s"`` from a ``SideState`` (``None``: not loaded)."""
    if state is None:
        return f"{name} — no frame"
    return f"{name} — frame {state.frame} · {state.pts:.3f} s"


class CompareFeed(Protocol):
    """What the compare window shows and asks of
    (``console.gui.compare_controller.CompareController``): its synchronized pair, the
    renditions of a game, the two sides opened, frame metrics and exported files; the
    calls that list, compare, measure and export. Frames are 0-based indices."""

    renditions_listed: SignalInstance
    opened: SignalInstance
    metrics_ready: SignalInstance
    exported: SignalInstance
    error: SignalInstance
    status: SignalInstance

    @property
    def pair(self) -> SyncedPair: ...
    @property
    def sides(self) -> tuple | None: ...
    def list_renditions(self, game_id: str) -> None: ...
    def compare_names(
        self, game_a: str, name_a: str, game_b: str, name_b: str, frame: int = 0
    ) -> None: ...
    def measure_current(self) -> None: ...
    def export_frames(self, directory: str) -> list[str]: ...


class CompareView(QWidget):
    """Pickers, the comparison canvas, per-side readouts and the transport."""

    def __init__(self, controller: CompareFeed, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.pair = controller.pair
        self._names = ("A", "B")
        self._duration = 0.0
        self._dragging = False
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        # -- pickers
        self.game_a, self.rendition_a = QLineEdit(), QComboBox()
        self.game_b, self.rendition_b = QLineEdit(), QComboBox()
        for edit in (self.game_a, self.game_b):
            edit.setPlaceholderText("game id")
            edit.editingFinished.connect(lambda e=edit: self._game_edited(e))
        for combo in (self.rendition_a, self.rendition_b):
            combo.setMinimumContentsLength(10)
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Load both renditions, positioned at the current frame")
        self.compare_button.clicked.connect(self._compare_clicked)
        pickers = QHBoxLayout()
        for widget in (
            QLabel("A (reference)"),
            self.game_a,
            self.rendition_a,
            QLabel("  B"),
            self.game_b,
            self.rendition_b,
        ):
            pickers.addWidget(widget)
        pickers.addWidget(self.compare_button)

        # -- canvas and per-side readouts
        self.canvas = CompareCanvas()
        self.side_labels = (QLabel(side_text("A", None)), QLabel(side_text("B", None)))
        self.offsets = (QSpinBox(), QSpinBox())
        readouts = QHBoxLayout()
        for index, (label, spin) in enumerate(zip(self.side_labels, self.offsets, strict=True)):
            label.setFont(mono)
            spin.setRange(-10_000, 10_000)
            spin.setSuffix(" fr")
            spin.setToolTip(
                f"Offset of side {'AB'[index]} in frames (sources that start differently)"
            )
            spin.valueChanged.connect(lambda v, i=index: self.pair.set_offset(i, v))
            readouts.addWidget(label, 1)
            readouts.addWidget(QLabel("offset"))
            readouts.addWidget(spin)
        align = QPushButton("Align starts")
        align.setToolTip(
            "Offset B so both first frames coincide (sources that start "
            "differently, e.g. an MP4 source against HLS rungs)"
        )
        align.clicked.connect(self.align_starts)
        readouts.addWidget(align)

        # -- transport
        icons = QStyle.StandardPixmap
        self._play_icon = self.style().standardIcon(icons.SP_MediaPlay)
        self._pause_icon = self.style().standardIcon(icons.SP_MediaPause)
        self.play_button = tool_button(
            self._play_icon, "Play/pause both (Space)", self.pair.toggle_pause
        )
        back = tool_button(
            self.style().standardIcon(icons.SP_MediaSeekBackward),
            "One frame back on both (,)",
            lambda: self.pair.step(-1),
        )
        step = tool_button(
            self.style().standardIcon(icons.SP_MediaSeekForward),
            "One frame forward on both (.)",
            lambda: self.pair.step(1),
        )
        self.lock_button = tool_button(
            "Frame-locked",
            "Frame-locked play (L): both sides advance one frame together, exact at every "
            "frame, below real time if decoding cannot keep up. Off: each side plays on its "
            "own clock (real time; can be a frame or two apart until paused)",
            self.set_frame_locked,
        )
        self.lock_button.setCheckable(True)
        self.lock_button.setAutoRaise(False)
        self.lock_button.setChecked(self.pair.frame_locked)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setToolTip("Seek both sides (exact)")
        self.slider.sliderPressed.connect(lambda: setattr(self, "_dragging", True))
        self.slider.sliderReleased.connect(self._seek_to_slider)
        self.time_label = QLabel("--")
        self.time_label.setFont(mono)

        self.mode_buttons: dict[CompareMode, QToolButton] = {}
        modes = QButtonGroup(self)
        for mode, text, tip in (
            (CompareMode.WIPE, "Wipe", "Wipe: drag the split (W)"),
            (CompareMode.SIDE_BY_SIDE, "Side by side", "Side by side (S)"),
            (CompareMode.DIFFERENCE, "Difference", "Amplified |A − B| (D)"),
            (CompareMode.SINGLE, "A/B", "One side at a time: A, B, Tab swaps"),
        ):
            button = tool_button(text, tip, lambda _=False, m=mode: self.set_mode(m))
            button.setCheckable(True)
            button.setAutoRaise(False)
            modes.addButton(button)
            self.mode_buttons[mode] = button
        self.mode_buttons[CompareMode.WIPE].setChecked(True)
        self.gain = QComboBox()
        for gain in DIFFERENCE_GAINS:
            self.gain.addItem(f"×{gain}", gain)
        self.gain.setCurrentIndex(DIFFERENCE_GAINS.index(4))
        self.gain.setToolTip("Amplification of the difference picture")
        self.gain.currentIndexChanged.connect(lambda i: self.canvas.set_gain(self.gain.itemData(i)))
        self.zoom_label = QLabel("fit")
        self.zoom_label.setFont(mono)
        fit = tool_button("Fit", "Reset zoom and pan (0)", self.canvas.reset_view)
        self.measure_button = QPushButton("PSNR/SSIM")
        self.measure_button.setToolTip("Measure B against A on the frame on screen (M)")
        self.measure_button.clicked.connect(self.measure)
        self.metrics_label = QLabel("")
        self.metrics_label.setFont(mono)
        self.metrics_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        export = QPushButton("Export PNGs…")
        export.setToolTip("Save both frames on screen as PNG files")
        export.clicked.connect(self._export_clicked)

        transport = QHBoxLayout()
        for widget in (self.play_button, back, step, self.lock_button):
            transport.addWidget(widget)
        transport.addWidget(self.slider, 1)
        transport.addWidget(self.time_label)
        tools = QHBoxLayout()
        for button in self.mode_buttons.values():
            tools.addWidget(button)
        for widget in (self.gain, QLabel("  zoom"), self.zoom_label, fit):
            tools.addWidget(widget)
        tools.addStretch(1)
        for widget in (self.metrics_label, self.measure_button, export):
            tools.addWidget(widget)

        self.message = QLabel("")
        self.message.setObjectName("muted")
        self.message.setWordWrap(True)
        hint = QLabel(KEY_HELP)
        hint.setObjectName("muted")
        hint.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addLayout(pickers)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(readouts)
        layout.addLayout(transport)
        layout.addLayout(tools)
        layout.addWidget(self.message)
        layout.addWidget(hint)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setWindowTitle("Compare renditions")

        # -- wiring
        self._key_actions = self._bind_key_actions()
        self._frames_dirty = [False, False]
        self._repaint = QTimer(self, singleShot=True, interval=0)
        self._repaint.timeout.connect(self._refresh_frames)
        self.pair.frame_ready.connect(self._on_frame)
        self.pair.side_changed.connect(self._on_side)
        self.pair.duration_changed.connect(self._on_duration)
        self.pair.playing_changed.connect(self._on_playing)
        self.pair.locked_frame.connect(self._on_locked_frame)
        self.pair.synced.connect(self._on_synced)
        self.pair.loaded.connect(lambda: self.message.setText(""))
        self.canvas.view_changed.connect(self._on_view)
        controller.renditions_listed.connect(self._on_renditions)
        controller.opened.connect(self._on_opened)
        controller.metrics_ready.connect(lambda m: self.metrics_label.setText(m.label))
        controller.error.connect(self.message.setText)
        controller.status.connect(self.message.setText)
        controller.exported.connect(
            lambda paths: self.message.setText("Exported " + " and ".join(paths))
        )

    # ------------------------------------------------------------------ actions
    def set_mode(self, mode: CompareMode) -> None:
        """Switch the canvas mode (the A/B mode starts on the side shown last)."""
        if mode == CompareMode.SINGLE:
            self.canvas.show_single(self.canvas.shown_side)
        else:
            self.canvas.set_mode(mode)
        self.mode_buttons[mode].setChecked(True)

    def show_side(self, side: int) -> None:
        """Show only side ``side`` (0 = A, 1 = B)."""
        self.canvas.show_single(side)
        self.mode_buttons[CompareMode.SINGLE].setChecked(True)

    def align_starts(self) -> None:
        """Offset B so that both sides' first frames coincide (shown in B's spin box)."""
        frames = self.pair.align_first_frames()
        self.offsets[1].blockSignals(True)
        self.offsets[1].setValue(frames)
        self.offsets[1].blockSignals(False)

    def measure(self) -> None:
        """Ask for PSNR/SSIM of the frame on screen (the result arrives as a signal)."""
        self.metrics_label.setText("measuring…")
        self.controller.measure_current()

    def _export_clicked(self) -> None:
        directory = QFileDialog.getExistingDirectory(self, "Export both frames as PNG to")
        if directory:
            self.controller.export_frames(directory)

    def _compare_clicked(self) -> None:
        game_a = self.game_a.text().strip()
        game_b = self.game_b.text().strip() or game_a
        name_a, name_b = self.rendition_a.currentText(), self.rendition_b.currentText()
        if not (game_a and name_a and name_b):
            self.message.setText("Pick a game and two renditions first.")
            return
        frame = self.pair.state(0).frame if self.controller.sides else 0
        self.controller.compare_names(game_a, name_a, game_b, name_b, frame)

    def _game_edited(self, edit: QLineEdit) -> None:
        if not edit.isModified():  # focus left without a typed change (or on close)
            return
        edit.setModified(False)
        game = edit.text().strip()
        if game:
            self.controller.list_renditions(game)

    def _seek_to_slider(self) -> None:
        self._dragging = False
        if self._duration > 0:
            self.pair.seek(self.slider.sliderPosition() / SLIDER_STEPS * self._duration)

    # ------------------------------------------------------------------ signals
    def _on_renditions(self, game_id: str, names: list) -> None:
        for edit, combo in ((self.game_a, self.rendition_a), (self.game_b, self.rendition_b)):
            if edit.text().strip() == game_id or (not edit.text().strip() and edit is self.game_b):
                current = combo.currentText()
                combo.clear()
                combo.addItems(names)
                if current in names:
                    combo.setCurrentText(current)

    def _on_opened(self, label_a: str, label_b: str) -> None:
        self._names = (f"A · {label_a}", f"B · {label_b}")
        self.canvas.set_labels(*self._names)
        self.metrics_label.setText("")
        sides = self.controller.sides
        if sides:
            for (edit, combo), choice in zip(
                ((self.game_a, self.rendition_a), (self.game_b, self.rendition_b)),
                sides,
                strict=True,
            ):
                edit.setText(choice.game_id)
                if combo.findText(choice.name) < 0:
                    combo.addItem(choice.name)
                combo.setCurrentText(choice.name)
        for index, label in enumerate(self.side_labels):
            label.setText(side_text(self._names[index], None))
        for game in {choice.game_id for choice in sides or ()}:
            self.controller.list_renditions(game)  # fill the pickers with every choice

    def _on_frame(self, side: int) -> None:
        self._frames_dirty[side] = True
        self._repaint.start()

    def _refresh_frames(self) -> None:
        sources = self.pair.sources
        a = sources[0].image() if self._frames_dirty[0] else None
        b = sources[1].image() if self._frames_dirty[1] else None
        self._frames_dirty = [False, False]
        self.canvas.set_frames(a, b)

    def _on_side(self, state) -> None:
        self.side_labels[state.side].setText(side_text(self._names[state.side], state))
        if state.side == 0:
            seconds = self.pair.time
            self.time_label.setText(f"{seconds:8.3f} / {self._duration:.3f} s")
            if self._duration > 0 and not self._dragging:
                self.slider.blockSignals(True)
                self.slider.setValue(int(SLIDER_STEPS * seconds / self._duration))
                self.slider.blockSignals(False)

    def set_frame_locked(self, locked: bool) -> None:
        """Frame-locked (``True``) or free playback for the next play (pauses first)."""
        if self.pair.playing:
            self.pair.pause()
        self.pair.frame_locked = bool(locked)
        self.lock_button.setChecked(bool(locked))

    def _on_locked_frame(self, _seconds: float) -> None:
        if self.pair.locked_frames % 12 == 0 and self.pair.locked_fps:
            self.message.setText(f"Frame-locked play at {self.pair.locked_fps:.1f} frames/s.")

    def _on_synced(self, _seconds: float) -> None:
        self.metrics_label.setText("")

    def _on_duration(self, seconds: float) -> None:
        self._duration = seconds

    def _on_playing(self, playing: bool) -> None:
        self.play_button.setIcon(self._pause_icon if playing else self._play_icon)

    def _on_view(self, zoom: float) -> None:
        self.zoom_label.setText("fit" if zoom == 1.0 else f"{zoom:.2f}×")

    # ------------------------------------------------------------------ keys
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if self.handle_key(event):
            event.accept()
            return
        super().keyPressEvent(event)

    def handle_key(self, event: QKeyEvent) -> bool:
        """Run the binding of ``event`` (``player.compare_keys``, see :data:`KEY_HELP`);
        ``False`` when unbound. Held keys repeat only the bindings marked ``repeat``."""
        binding = COMPARE_KEYS.binding_for(event.key(), event.modifiers())
        if binding is None:
            return False
        if event.isAutoRepeat() and not binding.repeat:
            return True  # held Space must not toggle play again and again
        if binding.seconds is not None:
            self.pair.seek(max(0.0, self.pair.time + binding.seconds))
        else:
            self._key_actions[binding.action]()
        return True

    def _swap_sides(self) -> None:
        """Show the other side in the A/B mode; from another mode, show A alone."""
        canvas = self.canvas
        self.show_side(1 - canvas.shown_side if canvas.mode == CompareMode.SINGLE else 0)

    def _bind_key_actions(self) -> dict[str, Callable[[], object]]:
        """What each action of ``player.compare_keys`` does (relative seeks excepted:
        their binding carries the seconds)."""
        pair, canvas = self.pair, self.canvas
        return {
            "toggle_pause": pair.toggle_pause,
            "toggle_frame_locked": lambda: self.set_frame_locked(not pair.frame_locked),
            "frame_back_step": lambda: pair.step(-1),
            "frame_step": lambda: pair.step(1),
            "seek_start": lambda: pair.seek_frame(0),
            "mode_wipe": lambda: self.set_mode(CompareMode.WIPE),
            "mode_side_by_side": lambda: self.set_mode(CompareMode.SIDE_BY_SIDE),
            "mode_difference": lambda: self.set_mode(CompareMode.DIFFERENCE),
            "show_a": lambda: self.show_side(0),
            "show_b": lambda: self.show_side(1),
            "swap_sides": self._swap_sides,
            "zoom_in": lambda: canvas.zoom_by(ZOOM_STEP),
            "zoom_out": lambda: canvas.zoom_by(1 / ZOOM_STEP),
            "zoom_fit": canvas.reset_view,
            "measure": self.measure,
        }

    def focusNextPrevChild(self, next_child: bool) -> bool:  # noqa: N802 - Qt override
        """Tab swaps A/B while the canvas has the focus instead of moving the focus."""
        if self.canvas.hasFocus() or self.hasFocus():
            self._swap_sides()
            return True
        return super().focusNextPrevChild(next_child)
