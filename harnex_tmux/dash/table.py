"""The fleet list: a Line API widget that redraws only the rows whose text changed.

Textual's DataTable drops its whole render cache on every ``update_cell`` and redraws every
visible row (and ``sort`` does the same), which was most of a refresh's CPU with 50 sessions
(docs/benchmarks.md). Here each row's line is drawn once per distinct content and kept by
its key, so a state change redraws one or two lines, and a row moving to another group
redraws only the lines between its old and new place (each from its kept drawing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

GAP = 2  # spaces between columns
WIDEST = 40  # most cells of a narrow column; longer text ends in "…"


@dataclass(frozen=True)
class Line:
    """One row as drawn: its cells' text and the colour of its state cell."""

    key: str
    cells: tuple[str, ...]
    colour: str


class FleetTable(ScrollView, can_focus=True):
    """A header line and one line per session; the cursor row is the selected session."""

    DEFAULT_CSS = """
    FleetTable { background: $surface; overflow-x: hidden; }
    FleetTable > .fleet-table--header { text-style: bold; color: $text-accent; }
    FleetTable > .fleet-table--cursor { background: $block-cursor-blurred-background; }
    FleetTable:focus > .fleet-table--cursor { background: $block-cursor-background;
                                              color: $block-cursor-foreground;
                                              text-style: $block-cursor-text-style; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"fleet-table--header", "fleet-table--cursor"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "edge(0)", "First", show=False),
        Binding("end", "edge(1)", "Last", show=False),
    ]

    class Highlighted(Message):
        """The person moved the cursor to another session (key None: the list is empty)."""

        def __init__(self, key: str | None) -> None:
            super().__init__()
            self.key = key

    def __init__(
        self,
        columns: Sequence[str],
        wide: Mapping[str, int] | None = None,
        *,
        id: str | None = None,
    ) -> None:
        """``wide``: the columns as wide as their longest text, each with the cells it keeps
        when the widget is too narrow for the whole line (it is cut first, text ending in
        "…"; what still does not fit is cropped at the right edge)."""
        super().__init__(id=id)
        self.columns = tuple(columns)
        self.wide = dict(wide or {})
        self.lines: list[Line] = []
        self.cursor_row = 0
        self.widths = tuple(len(name) for name in self.columns)
        self._drawn: dict[str, tuple[tuple[Line, bool, bool, tuple[int, ...]], Strip]] = {}
        self._header: Strip | None = None
        # The widget's own style, which every line is drawn on: Textual works it out from
        # every ancestor's styles on each ask, so it is kept until the styles change.
        self._base: Style | None = None

    # --- what the app calls ---------------------------------------------------------------

    @property
    def cursor_key(self) -> str | None:
        return self.lines[self.cursor_row].key if self.lines else None

    def show(
        self, lines: Sequence[Line], keep: str | None, columns: Sequence[str] | None = None
    ) -> None:
        """Show ``lines``, the cursor on ``keep`` when it is there (else at the same place),
        and redraw only the lines that differ from what is on screen. ``columns`` changes
        the header (the lines' cells then follow it): every line is drawn anew."""
        old = self.lines
        new_columns = columns is not None and tuple(columns) != self.columns
        if columns is not None:
            self.columns = tuple(columns)
        old_cursor = self.cursor_key
        self.lines = list(lines)
        keys = [line.key for line in self.lines]
        if keep in keys:
            self.cursor_row = keys.index(keep)
        self.cursor_row = max(0, min(self.cursor_row, len(self.lines) - 1))
        widths = self._widths()
        if new_columns or widths != self.widths or len(old) != len(self.lines):
            self.widths = widths
            self._drawn.clear()
            self._header = None
            # Cropped to the widget's width: no sideways scrolling.
            self.virtual_size = Size(0, len(self.lines) + 1)
            self.refresh()
        else:
            changed = [
                index
                for index, line in enumerate(self.lines)
                if old[index] != line
                or (old[index].key == old_cursor) != (index == self.cursor_row)
            ]
            self._refresh_rows(changed)
        if self.cursor_key != old_cursor:
            self._keep_in_view()
        live = set(keys)
        for key in [k for k in self._drawn if k not in live]:
            del self._drawn[key]

    def move_cursor(self, row: int) -> None:
        if not self.lines:
            return
        row = max(0, min(row, len(self.lines) - 1))
        if row == self.cursor_row:
            return
        self.refresh_line(self.cursor_row + 1)
        self.cursor_row = row
        self.refresh_line(row + 1)
        self._keep_in_view()
        self.post_message(self.Highlighted(self.cursor_key))

    # --- keys and mouse --------------------------------------------------------------------

    def action_move(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step)

    def action_page(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step * max(1, self.size.height - 2))

    def action_edge(self, last: int) -> None:
        self.move_cursor(len(self.lines) - 1 if last else 0)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and offset.y >= 1:
            self.move_cursor(int(self.scroll_offset.y) + offset.y - 1)

    def _keep_in_view(self) -> None:
        # Virtual line cursor+1, seen below the header line: scroll so it is not under it.
        top = int(self.scroll_offset.y)
        visible = max(1, self.size.height - 1)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False)

    # --- drawing ---------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if self._base is None:
            self._base = self.rich_style
        base = self._base
        if y == 0:
            if self._header is None:
                style = self.get_component_rich_style("fleet-table--header")
                self._header = self._strip(self.columns, None, base + style)
            return self._header.crop_extend(0, width, base)
        index = int(self.scroll_offset.y) + y - 1
        if index >= len(self.lines):
            return Strip.blank(width, base)
        line = self.lines[index]
        cursor = index == self.cursor_row
        signature = (line, cursor, cursor and self.has_focus, self.widths)
        kept = self._drawn.get(line.key)
        if kept is None or kept[0] != signature:
            style = base
            if cursor:
                style += self.get_component_rich_style("fleet-table--cursor")
            kept = (signature, self._strip(line.cells, line.colour, style))
            self._drawn[line.key] = kept
        return kept[1].crop_extend(0, width, base)

    def _strip(self, cells: Sequence[str], colour: str | None, style: Style) -> Strip:
        segments = []
        state = self.columns.index("STATE") if "STATE" in self.columns else -1
        for n, (text, width) in enumerate(zip(cells, self.widths, strict=False)):
            shown = text if len(text) <= width else text[: width - 1] + "…"
            cell_style = style
            if n == state and colour is not None:  # the state: its colour, bold
                cell_style = style + Style(color=colour, bold=True)
            segments.append(Segment(" " if n == 0 else " " * GAP, style))
            segments.append(Segment(shown.ljust(width), cell_style))
        segments.append(Segment(" ", style))
        # One segment per run of one style (three for a row): each later pass over the line
        # (cropping, the compositor's styles) costs by the segment, not by the cell.
        return Strip(Segment.simplify(segments))

    def _widths(self) -> tuple[int, ...]:
        """Each column as wide as its longest text (a narrow one at most WIDEST); when the
        whole line is wider than the widget, the wide columns give up the difference."""
        wide = [n for n, name in enumerate(self.columns) if name in self.wide]
        # Column by column (each a max over the lengths): a refresh does this every time.
        cells = zip(*(line.cells for line in self.lines), strict=False)
        widths = [len(name) for name in self.columns]
        for n, column in zip(range(len(widths)), cells, strict=False):
            longest = max(map(len, column))
            widths[n] = max(widths[n], longest if n in wide else min(longest, WIDEST))
        room = self.size.width
        excess = 1 + sum(widths) + GAP * (len(widths) - 1) + 1 - room
        for n in wide:
            if room <= 0 or excess <= 0:
                break
            least = min(widths[n], max(self.wide[self.columns[n]], len(self.columns[n])))
            cut = min(excess, widths[n] - least)
            widths[n] -= cut
            excess -= cut
        return tuple(widths)

    def on_resize(self) -> None:
        # The wide columns follow the widget's width.
        widths = self._widths()
        if widths != self.widths:
            self.widths = widths
            self._drawn.clear()
            self._header = None
            self.refresh()

    def notify_style_update(self) -> None:
        # A new theme or focus style: the kept drawings have the old colours.
        self._drawn.clear()
        self._header = None
        self._base = None
        super().notify_style_update()

    def on_focus(self) -> None:
        self._refresh_cursor()

    def on_blur(self) -> None:
        self._refresh_cursor()

    def _refresh_cursor(self) -> None:
        if self.lines:
            self.refresh_line(self.cursor_row + 1)

    def _refresh_rows(self, indices: Sequence[int]) -> None:
        """Repaint the lines of these rows (in ascending order), each run of adjacent ones as
        one region: a row moving up the list changes every line it passes."""
        top = int(self.scroll_offset.y)
        height, width = self.size.height, self.size.width
        start = 0
        while start < len(indices):
            end = start
            while end + 1 < len(indices) and indices[end + 1] == indices[end] + 1:
                end += 1
            # Row i is on virtual line i + 1, on screen line i + 1 - top (0 is the header).
            first = max(1, indices[start] + 1 - top)
            last = min(height - 1, indices[end] + 1 - top)
            if first <= last:
                self.refresh(Region(0, first, width, last - first + 1))
            start = end + 1

    def refresh_line(self, y: int) -> None:
        # The header stays on the first screen line whatever the scroll: row lines are
        # drawn one line lower than their place in the list.
        top = int(self.scroll_offset.y)
        if y == 0:
            self.refresh(Region(0, 0, self.size.width, 1))
        elif 1 <= y - top < self.size.height:
            self.refresh(Region(0, y - top, self.size.width, 1))
