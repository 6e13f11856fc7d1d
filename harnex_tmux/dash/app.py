"""The dashboard's Textual app: the fleet list with the selected session beside it.

Data comes from :class:`~harnex_tmux.dash.fleet.Fleet`, kept current by a thread that
watches the state folder; every action on a session goes through :mod:`.source` in a worker
thread, so the screen never waits for a sidecar or tmux.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import Footer, Input, Static

from harnex_tmux.dash import source
from harnex_tmux.dash.fleet import Detail, Fleet
from harnex_tmux.dash.hostevents import HostEvents
from harnex_tmux.dash.model import (
    DIALOG_STATES,
    EXITED,
    FAULT_STATES,
    STALE,
    WIDE_COLUMNS,
    FleetRow,
    Layout,
    counts,
    matches,
    ordered,
)
from harnex_tmux.dash.screens import (
    AnswerScreen,
    ConfirmScreen,
    DiffScreen,
    HelpScreen,
    NewScreen,
    SendScreen,
)
from harnex_tmux.dash.table import FleetTable, Line
from harnex_tmux.errors import HarnexError

if TYPE_CHECKING:
    from harnex_tmux.mcp.children import Children
    from harnex_tmux.state import SessionRecord

SIDECAR_CHECK_S = 2.0
# How often the FOR column moves on: each redraw of the table costs a few ms of CPU, so not
# every second (docs/benchmarks.md has the dashboard's idle figure).
TICK_S = 5.0
PREVIEW_CHECK_S = 1.0
# Other hosts are asked this often (each ask is an ssh command per host, on a thread of its
# own: a host that hangs delays only its own rows, by at most the status timeout).
HOSTS_EVERY_S = 5.0
ENDED_TEXT = "(the session has ended; its pane is closed or kept by tmux)"
NARROW = 80  # columns below which the side panel goes under the list
# The keys that change something (a session, the person's tmux client): --read-only hides
# them. The diff only reads, so it stays.
ACTING = frozenset({"send", "answer", "jump", "stop", "recover", "new"})
NEW = "*"  # the in-flight key of a session start (it belongs to no session yet)


class DashApp(App[list[str] | None]):
    """Answers None, or an ``attach`` command line to run after it closes (outside tmux)."""

    TITLE = "harnex dash"
    AUTO_FOCUS = "#fleet"
    CSS = """
    Screen { layout: vertical; }
    #banner { height: 1; background: $panel; padding: 0 1; }
    #main { height: 1fr; }
    #fleet { width: 3fr; height: 1fr; }
    #side { width: 2fr; height: 1fr; }
    #main.narrow { layout: vertical; }
    #main.narrow #fleet { width: 1fr; height: 1fr; }
    #main.narrow #side { width: 1fr; height: 1fr; }
    #pane { height: 1fr; border: round $primary; overflow: hidden; }
    #events { height: auto; max-height: 8; border: round $secondary; }
    #reply { height: auto; max-height: 6; border: round $secondary; }
    #filter { dock: bottom; display: none; }
    #filter.shown { display: block; }
    #status { height: 1; background: $panel; padding: 0 1; }
    .box { width: 80%; max-width: 100; height: auto; max-height: 90%;
           border: thick $primary; background: $surface; padding: 0 1; }
    ModalScreen { align: center middle; }
    #send-text { height: 10; }
    #diff-box { height: 90%; }
    #diff-view { height: 1fr; }
    .error { color: $error; height: auto; }
    .buttons { height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s,enter", "send", "Send", priority=False),
        Binding("a", "answer", "Answer"),
        Binding("j", "jump", "Jump"),
        Binding("x", "stop", "Stop"),
        Binding("r", "recover", "Recover"),
        Binding("d", "diff", "Diff"),
        Binding("n", "new", "New"),
        Binding("slash", "filter", "Filter"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        repo_root: str | None,
        read_only: bool = False,
        fleet: Fleet | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``fleet``: one already loading (``harnex dash`` starts it before importing
        Textual), or a fixed one in tests; ``clock`` is for tests: a fixed now."""
        super().__init__()
        self.read_only = read_only
        source.prepare()
        self.fleet = fleet if fleet is not None else Fleet(repo_root)
        self.clock = clock
        self.scope = repo_root or "all repositories"
        self.shown: list[FleetRow] = []
        self.layout_of_rows = Layout()  # the list's optional columns, as the rows ask
        self.selected: str | None = None
        self.needle = ""
        self.busy_keys: dict[str, set[str]] = {}  # action -> session keys with one in flight
        self.message = ""
        self.stop_watching = threading.Event()
        self.wake_hosts = threading.Event()  # ask the hosts now (after an action on one)
        self.host_fetches = 0  # how many times the hosts were asked (tests wait on it)
        self.loaded = False
        self.refreshes = 0  # how many times the list was redrawn (the benchmark reads it)
        self._preview_mtime: float | None = None
        self._preview_ended = False  # whether the pane view shows the ended text
        self._children: Children | None = None  # the sidecars of sessions started here
        self.host_events = HostEvents()  # the remote rows' events, read from their hosts

    # --- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("harnex dash: loading…", id="banner")
        with Horizontal(id="main"):
            yield FleetTable(Layout().columns, WIDE_COLUMNS, id="fleet")
            with Vertical(id="side"):
                yield Static("", id="pane", markup=False)
                yield Static("", id="events", markup=False)
                yield Static("", id="reply", markup=False)
        yield Input(placeholder="filter: words in id, CLI, state, description, branch", id="filter")
        yield Static("", id="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#pane").border_title = "pane"
        self.query_one("#events").border_title = "events"
        self.query_one("#reply").border_title = "last reply"
        self._layout(self.size.width)
        if self.fleet.ready:  # read while Textual was imported: the first frame has the list
            self._loaded()
        # The sidecars are asked once that frame is out: the opening does not wait for them.
        self.call_after_refresh(self._load)
        self.set_interval(TICK_S, self._tick)
        self.set_interval(PREVIEW_CHECK_S, self._maybe_preview)

    def on_resize(self, event: Any) -> None:
        self._layout(event.size.width)

    def _layout(self, width: int) -> None:
        self.query_one("#main").set_class(width < NARROW, "narrow")

    def on_unmount(self) -> None:
        self.stop_watching.set()
        self.wake_hosts.set()

    # --- data ---------------------------------------------------------------------------

    @work(thread=True, group="load")
    def _load(self) -> None:
        """The list from the state folder first, then what the sidecars say, then the
        watching (which first takes in what changed since the folder was read)."""
        dirs = source.watched_dirs()  # made when missing, for the watcher
        if not self.loaded:
            try:
                self.fleet.load()
            except Exception as exc:  # the view stays up and says why
                self.call_from_thread(self._say, f"could not read the sessions: {exc}")
            self.call_from_thread(self._loaded)
        try:
            if self.fleet.ask_sidecars():
                self.call_from_thread(self.show_rows)
        except Exception as exc:  # the view stays up and says why
            self.call_from_thread(self._say, f"could not ask the sidecars: {exc}")
        self._watch(dirs)

    def _loaded(self) -> None:
        self.loaded = True
        self.show_rows()
        # A plain daemon thread, not a worker: closing the app never waits for an ssh.
        threading.Thread(target=self._follow_hosts, name="dash-hosts", daemon=True).start()

    def _follow_hosts(self) -> None:
        """Ask the other hosts for their sessions every HOSTS_EVERY_S (sooner after an
        action on one), apart from the local refresh, until the app closes."""
        while not self.stop_watching.is_set():
            try:
                changed = self.fleet.refresh_hosts()
            except Exception as exc:  # the view stays up and says why
                changed = False
                self._from_thread(self._say, f"while asking the other hosts: {exc}")
            self.host_fetches += 1
            self._from_thread(self._hosts_fetched, changed)
            self.wake_hosts.wait(HOSTS_EVERY_S)
            self.wake_hosts.clear()

    def _from_thread(self, callback: Callable[..., Any], *args: Any) -> None:
        if self.stop_watching.is_set():
            return
        with contextlib.suppress(RuntimeError):  # the app closed in between
            self.call_from_thread(callback, *args)

    def _hosts_fetched(self, changed: bool) -> None:
        if changed:
            self.show_rows()
        detail = self._detail()
        if detail is not None and detail.remote:
            # A remote pane and events log have nothing here to watch: read them each time.
            self._preview()
            self._fetch_host_events()

    def _watch(self, dirs: list[Path]) -> None:
        """Follow the state folder until the app closes; now and then check the sidecars'
        pids and pick up any registry file a missed change left out."""
        import watchfiles

        last_check = time.monotonic()
        try:
            if self.fleet.catch_up() and not self.stop_watching.is_set():
                self.call_from_thread(self.show_rows)
        except Exception as exc:  # one bad file must not end the watching
            self.call_from_thread(self._say, f"while reading the state folder: {exc}")
        # Once more at the watcher's first answer: it reports changes from its start only.
        caught_up = False
        for changes in watchfiles.watch(
            *dirs,
            debounce=100,
            step=20,
            stop_event=self.stop_watching,
            yield_on_timeout=True,
            rust_timeout=int(SIDECAR_CHECK_S * 1000),
            raise_interrupt=False,
        ):
            touched = False
            try:
                touched = self.fleet.apply(path for _, path in changes)
                if not caught_up:
                    caught_up = True
                    touched |= self.fleet.catch_up()
                if time.monotonic() - last_check >= SIDECAR_CHECK_S:
                    last_check = time.monotonic()
                    touched |= self.fleet.check_sidecars()
                    touched |= self.fleet.reconcile()
            except Exception as exc:  # one bad file must not end the watching
                self.call_from_thread(self._say, f"while reading the state folder: {exc}")
            if touched and not self.stop_watching.is_set():
                self.call_from_thread(self.show_rows)

    # --- the list -----------------------------------------------------------------------

    def show_rows(self) -> None:
        table = self.query_one(FleetTable)
        every = self.fleet.rows()
        # From every row, not the filtered ones: the columns stay put while filtering.
        self.layout_of_rows = Layout.of(every, self.fleet.has_hosts())
        rows = [r for r in ordered(every) if matches(r, self.needle)]
        before = {r.key: r for r in self.shown}
        lines = self._lines(rows, self.clock())
        table.show(lines, keep=self.selected, columns=self.layout_of_rows.columns)
        self.shown = rows
        old_selected = self.selected
        self.selected = table.cursor_key
        self.refreshes += 1
        self._banner(every)
        changed = self.selected is None or before.get(self.selected) != next(
            (r for r in rows if r.key == self.selected), None
        )
        # The session may end without its row changing (the events log said "exited" first):
        # a preview taken while it lived must give way to the ended text.
        ended = self.selected is not None and self.fleet.ended(self.selected)
        self._show_detail(
            preview=changed or old_selected != self.selected or ended != self._preview_ended
        )
        if changed or old_selected != self.selected:
            self.refresh_bindings()

    def _lines(self, rows: list[FleetRow], now: float) -> list[Line]:
        layout = self.layout_of_rows
        return [Line(r.key, r.cells(now, layout), r.look.colour) for r in rows]

    def _tick(self) -> None:
        """Durations move on: the table redraws only the lines whose FOR text changed."""
        if self.shown:
            self.query_one(FleetTable).show(self._lines(self.shown, self.clock()), self.selected)

    def _banner(self, every: list[FleetRow]) -> None:
        found = counts((r.state, r.unconfirmed) for r in every)
        parts = [f"{found.waiting} need you", f"{found.busy} busy", f"{found.idle} idle"]
        text = f"harnex dash · {self.scope} · " + " · ".join(parts)
        for name in sorted(self.fleet.hosts_down):
            text += f" · host {name} down"
        if self.read_only:
            text += " · read-only"
        if self.needle:
            text += f" · filter: {self.needle}"
        banner = self.query_one("#banner", Static)
        if str(banner.content) != text:
            banner.update(text, layout=False)  # one line, always: no new layout

    def on_fleet_table_highlighted(self, event: FleetTable.Highlighted) -> None:
        key = event.key
        if key != self.selected:
            self.selected = key
            self._preview_mtime = None
            self._show_detail()
            self.refresh_bindings()

    # --- the side panel -----------------------------------------------------------------

    def _detail(self) -> Detail | None:
        return None if self.selected is None else self.fleet.detail(self.selected)

    def _show_detail(self, preview: bool = True) -> None:
        detail = self._detail()
        pane = self.query_one("#pane", Static)
        if detail is None:
            if not self.loaded:
                pane.update("loading…")
            elif not self.shown:
                pane.update(
                    "No sessions here. Start one with\n  harnex run CLI --detach\n"
                    "and it shows up at once."
                    if not self.needle
                    else "No session matches the filter (Esc in the filter clears it)."
                )
            self.query_one("#events", Static).update("")
            self.query_one("#reply", Static).update("")
            return
        title = f"pane · {detail.row.target}"
        if pane.border_title != title:  # setting it repaints the whole pane, even unchanged
            pane.border_title = title
        if detail.remote:
            events, reply = self._host_texts(detail)
            if preview:
                self._fetch_host_events()
        else:
            events = "\n".join(_event_line(e) for e in detail.events[-6:]) or "(none yet)"
            reply = detail.last_reply or "(none reported)"
        for name, text in (("#events", events), ("#reply", reply)):
            shown = self.query_one(name, Static)
            if str(shown.content) != text:
                shown.update(text)
        if detail.row.problem and self.message != f"{detail.row.target}: {detail.row.problem}":
            self._say(f"{detail.row.target}: {detail.row.problem}")
        if preview:
            self._preview()

    def _host_texts(self, detail: Detail) -> tuple[str, str]:
        """A remote row's events and last reply panels, from what its host last gave."""
        shown = self.host_events.shown(detail.row.key)
        # A row shown as last seen is not asked for (its host did not answer): its problem
        # says why, above the events seen before, if any.
        down = detail.row.problem if detail.row.state == STALE else None
        error = down or (shown.error if shown is not None else None)
        if error is None and (shown is None or not shown.fetched):
            reading = f"(reading from host {detail.row.host}…)"
            return reading, reading
        fetched = shown is not None and shown.fetched
        lines = [_event_line(e) for e in shown.events[-6:]] if shown is not None else []
        if error is not None:
            lines.insert(0, f"(cannot read the events now: {error})")
        reply = shown.last_reply if shown is not None else None
        reply = reply or ("(none reported)" if fetched else "(not known: the host did not answer)")
        return "\n".join(lines) or "(none yet)", reply

    @work(thread=True, exclusive=True, group="host-events")
    def _fetch_host_events(self) -> None:
        key = self.selected
        detail = None if key is None else self.fleet.detail(key)
        if key is None or detail is None or not detail.remote or detail.row.state == STALE:
            return
        self.host_events.fetch(key, detail.row.target)
        self._from_thread(self._host_events_fetched, key)

    def _host_events_fetched(self, key: str) -> None:
        if key == self.selected:
            with contextlib.suppress(NoMatches):  # the app closed meanwhile: nothing to show
                self._show_detail(preview=False)

    def _maybe_preview(self) -> None:
        """Read the pane again only when the selected agent printed something."""
        if self.selected is None:
            return
        mtime = source.output_mtime(self.selected)
        if mtime != self._preview_mtime:
            self._preview_mtime = mtime
            self._preview()

    @work(thread=True, exclusive=True, group="preview")
    def _preview(self) -> None:
        key = self.selected
        detail = None if key is None else self.fleet.detail(key)
        if key is None or detail is None:
            return
        record = detail.record
        if detail.remote:
            text = _remote_pane(detail)
        elif record is None:
            text = ENDED_TEXT
        else:
            try:
                text = source.capture(record, 200)
            except HarnexError as exc:
                text = f"(cannot read the pane: {exc})"
        self.call_from_thread(self._set_preview, key, text)

    def _set_preview(self, key: str, text: str) -> None:
        if key != self.selected:
            return
        # A capture that was still running when the session ended must not hide that it ended.
        self._preview_ended = self.fleet.ended(key)
        if self._preview_ended:
            text = ENDED_TEXT
        try:
            pane = self.query_one("#pane", Static)
        except NoMatches:  # a read that ended while the app closes: its screen is gone
            return
        height = max(1, pane.size.height)
        pane.update(Text("\n".join(text.splitlines()[-height:])), layout=False)

    def _say(self, text: str) -> None:
        self.message = text
        self.query_one("#status", Static).update(text, layout=False)

    # --- actions ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys that do not apply to the selected session are greyed out (None) or hidden;
        one already in flight for it does nothing until it ends."""
        if action == "diff":
            return self._can_diff()
        if action not in ACTING:
            return True
        if self.read_only:
            return False
        if action == "new":
            return None if self.busy_keys.get("new") else True
        detail = self._detail()
        if detail is None or not detail.live:
            return None
        if self.selected in self.busy_keys.get(action, set()):
            return None
        state = detail.row.state
        if action == "answer":
            return state in DIALOG_STATES or None
        if action == "recover":
            return state in FAULT_STATES or None
        if action == "send":
            return state != EXITED or None
        return True

    def _can_diff(self) -> bool | None:
        key = self.selected
        if key is None or key in self.busy_keys.get("diff", set()):
            return None
        detail = self._detail()
        if detail is not None and detail.remote:
            return detail.row.worktree is not None or None  # the host's harnex diff reads it
        has = detail is not None and detail.row.worktree is not None
        return has or source.has_worktree(key) or None

    def _begin(self, action: str, key: str) -> bool:
        keys = self.busy_keys.setdefault(action, set())
        if key in keys:
            return False
        keys.add(key)
        self.refresh_bindings()
        return True

    def _end(self, action: str, key: str, said: str) -> None:
        self.busy_keys.get(action, set()).discard(key)
        self._say(said)
        self.notify(said, timeout=6)
        self.refresh_bindings()

    def _target(self, action: str) -> tuple[str, Detail] | None:
        if self.check_action(action, ()) is not True or self.selected is None:
            return None
        detail = self._detail()
        return None if detail is None else (self.selected, detail)

    def action_send(self) -> None:
        found = self._target("send")
        if found is None:
            return
        key, detail = found

        def chosen(answer: tuple[str, bool] | None) -> None:
            if answer is not None and detail.live and self._begin("send", key):
                self._say(f"sending to {detail.row.target}…")
                self._send(key, detail, answer[0], answer[1])

        self.push_screen(SendScreen(detail.row.target), chosen)

    @work(thread=True, group="actions")
    def _send(self, key: str, detail: Detail, text: str, reply: bool) -> None:
        target = detail.row.target
        try:
            if detail.remote:
                sent = source.remote_send(target, text, reply)
            else:
                assert detail.record is not None
                sent = source.send(detail.record, text, reply)
            said = f"{target}: {sent.status}"
            if sent.error and sent.status != "delivered":
                said += f" ({sent.error})"
            if sent.reply is not None:
                said += f" · reply: {sent.reply}"
        except HarnexError as exc:
            said = f"{target}: send failed: {exc}"
        self.call_from_thread(self._end, "send", key, said)

    def action_answer(self) -> None:
        found = self._target("answer")
        if found is None:
            return
        key, detail = found
        if detail.remote:
            # The host reads its own adapter files (its repository's too): an ssh call, so
            # not on this thread; the key is greyed out until the answers are back.
            if self._begin("answer", key):
                self._say(f"reading {detail.row.target}'s dialog on its host…")
                self._host_dialog(key, detail)
            return
        assert detail.record is not None
        state = detail.row.state
        self._ask_answer(key, detail, state, source.dialog_keys(detail.record, state))

    @work(thread=True, group="actions")
    def _host_dialog(self, key: str, detail: Detail) -> None:
        target = detail.row.target
        try:
            dialog = source.remote_dialog(target)
        except HarnexError as exc:
            self.call_from_thread(self._end, "answer", key, f"{target}: cannot answer: {exc}")
            return
        self.call_from_thread(self._host_dialog_read, key, detail, dialog)

    def _host_dialog_read(self, key: str, detail: Detail, dialog: source.HostDialog) -> None:
        self.busy_keys.get("answer", set()).discard(key)
        self.refresh_bindings()
        if dialog.state not in DIALOG_STATES:
            self._say(f"{detail.row.target}: no dialog to answer now (it is {dialog.state})")
            return
        self._say("")
        self._ask_answer(key, detail, dialog.state, dialog.keys)

    def _ask_answer(
        self, key: str, detail: Detail, state: str, declared: list[tuple[str, ...]]
    ) -> None:
        """The answer screen for the ``state`` dialog: the adapter's declared answers, else
        the default (Enter) or backing out (Escape)."""
        choices = [(f"the adapter's answer {n}", keys) for n, keys in enumerate(declared, 1)]
        if not choices:
            # The adapter file names no keys for this dialog: its default, or back out.
            choices = [("the default (Enter)", ("Enter",)), ("decline (Escape)", ("Escape",))]
        question = _dialog_excerpt(self.query_one("#pane", Static))

        def chosen(keys: tuple[str, ...] | None) -> None:
            if keys is not None and detail.live and self._begin("answer", key):
                self._answer(key, detail, keys, state)

        self.push_screen(AnswerScreen(detail.row.id, question, choices), chosen)

    @work(thread=True, group="actions")
    def _answer(self, key: str, detail: Detail, keys: tuple[str, ...], state: str) -> None:
        target = detail.row.target
        try:
            if detail.remote:
                # Pressed there only if that dialog is still up when the keys arrive.
                source.remote_press(target, keys, state)
                self.wake_hosts.set()
            else:
                assert detail.record is not None
                source.press(detail.record, keys)
            said = f"{target}: pressed {' '.join(keys)}"
        except HarnexError as exc:
            said = f"{target}: could not answer: {exc}"
        self.call_from_thread(self._end, "answer", key, said)

    def action_jump(self) -> None:
        found = self._target("jump")
        if found is None:
            return
        key, detail = found
        if detail.remote:
            # Asking the host where the window is takes an ssh call: not on this thread.
            if self._begin("jump", key):
                self._say(f"opening {detail.row.target}'s window…")
                self._jump_remote(key, detail.row.target)
            return
        assert detail.record is not None
        try:
            how = source.jump(detail.record)
        except HarnexError as exc:
            self._say(f"{detail.row.id}: cannot jump: {exc}")
            return
        if how.done:
            self._say(f"showing {detail.row.id}'s window")
            return
        self._attach_here(detail.row.id, how.attach)

    @work(thread=True, group="actions")
    def _jump_remote(self, key: str, target: str) -> None:
        """``harnex attach NAME:id``'s plan: inside tmux a new window of this tmux session
        running the ssh to the host's window (done there), else the command to run here."""
        attach: list[str] = []
        try:
            how = source.remote_jump(target)
            said = f"showing {target}'s window (a new window of this tmux session)"
            attach = [] if how.done else how.attach
        except HarnexError as exc:
            said = f"{target}: cannot jump: {exc}"
        self.call_from_thread(self._jumped, key, target, said, attach)

    def _jumped(self, key: str, target: str, said: str, attach: list[str]) -> None:
        self.busy_keys.get("jump", set()).discard(key)
        self.refresh_bindings()
        if attach:
            self._attach_here(target, attach)
        else:
            self._say(said)

    def _attach_here(self, name: str, attach: list[str]) -> None:
        """Outside tmux: attach in this terminal; detaching (prefix d) comes back here."""
        self._say(f"attached to {name}; detach (prefix d) to come back")
        try:
            with self.suspend():
                subprocess.run(attach, check=False)
        except Exception as exc:  # a terminal that cannot be handed over (headless)
            self._say(f"{name}: cannot attach here ({exc}); run: {' '.join(attach)}")

    def action_stop(self) -> None:
        found = self._target("stop")
        if found is None:
            return
        key, detail = found

        def chosen(yes: bool | None) -> None:
            if yes and detail.live and self._begin("stop", key):
                self._say(f"stopping {detail.row.target}…")
                self._act("stop", key, detail, source.stop, source.remote_stop)

        self.push_screen(ConfirmScreen(f"Stop {detail.row.target}? (its worktree stays)"), chosen)

    def action_recover(self) -> None:
        found = self._target("recover")
        if found is not None and self._begin("recover", found[0]):
            self._say(f"recovering {found[1].row.id}…")
            self._act("recover", *found, source.recover, source.remote_recover)

    @work(thread=True, group="actions")
    def _act(
        self,
        action: str,
        key: str,
        detail: Detail,
        here: Callable[[SessionRecord], str],
        there: Callable[[str], str],
    ) -> None:
        """Stop or recover: ``there`` by the harnex of a remote row's host (its rows are
        asked again at once), else ``here`` on this machine; the one-line outcome said."""
        try:
            if detail.remote:
                said = there(detail.row.target)
                self.wake_hosts.set()
            else:
                assert detail.record is not None
                said = here(detail.record)
        except HarnexError as exc:
            said = f"{detail.row.target}: {action} failed: {exc}"
        self.call_from_thread(self._end, action, key, said)

    def action_diff(self) -> None:
        key = self.selected
        detail = self._detail()
        if self._can_diff() is not True or key is None or detail is None:
            return
        self.busy_keys.setdefault("diff", set()).add(key)
        self.refresh_bindings()
        self._say(f"reading the diff of {detail.row.target}…")
        self._diff(key, detail.row.target, detail.remote)

    @work(thread=True, group="actions")
    def _diff(self, key: str, ident: str, remote: bool) -> None:
        try:
            text: str | None = source.remote_diff(ident) if remote else source.worktree_diff(key)
            said = ""
        except HarnexError as exc:
            text, said = None, f"{ident}: no diff: {exc}"
        self.call_from_thread(self._show_diff, key, ident, text, said)

    def _show_diff(self, key: str, ident: str, text: str | None, said: str) -> None:
        self.busy_keys.get("diff", set()).discard(key)
        self._say(said)
        self.refresh_bindings()
        if text is not None:
            self.push_screen(DiffScreen(ident, text))

    def action_new(self) -> None:
        if self.check_action("new", ()) is not True:
            return
        try:
            choices = source.adapters(self.fleet.repo_root)
        except HarnexError as exc:
            self._say(f"cannot list the CLIs: {exc}")
            return

        def chosen(new: source.NewSession | None) -> None:
            if new is not None and self._begin("new", NEW):
                self._say(f"starting {new.ident or 'a session'}…")
                self._start(new)

        self.push_screen(NewScreen(choices), chosen)

    @work(thread=True, group="actions")
    def _start(self, new: source.NewSession) -> None:
        cwd = self.fleet.repo_root or os.getcwd()
        try:
            said = source.start(new, cwd, self._adopt)
        except HarnexError as exc:
            said = f"could not start {new.ident or 'the session'}: {exc}"
        self.call_from_thread(self._end, "new", NEW, said.splitlines()[0] if said else said)

    def _adopt(self, sidecar: subprocess.Popen[bytes]) -> None:
        """The dashboard outlives the sidecars it starts: reap each once its session ends."""
        from harnex_tmux.mcp.children import Children

        if self._children is None:
            self._children = Children()
        self._children.adopt(sidecar)

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.add_class("shown")
        field.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.needle = event.value.strip()
        self.show_rows()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one(FleetTable).focus()
        if not event.value.strip():
            event.input.remove_class("shown")

    def on_key(self, event: events.Key) -> None:
        field = self.query_one("#filter", Input)
        if event.key == "escape" and field.has_focus:
            field.value = ""
            field.remove_class("shown")
            self.query_one(FleetTable).focus()
            event.stop()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())


def _event_line(event: dict[str, Any]) -> str:
    when = str(event.get("ts") or "")[11:19]
    kind = str(event.get("type") or "?")
    if kind == "state":
        what = f"{event.get('from')} → {event.get('to')}"
    elif kind == "send":
        what = str(event.get("msg") or "")
    elif kind == "turn_complete":
        what = str(event.get("reply") or "")
    elif kind == "failed":
        what = str(event.get("reason") or "")
    else:
        skip = {"schema_version", "seq", "ts", "id", "type"}
        what = " ".join(f"{k}={v}" for k, v in event.items() if k not in skip)
    return f"{when} {kind} {what}".replace("\n", " ")[:200]


def _remote_pane(detail: Detail) -> str:
    """A remote session's pane, read over ssh by the host's ``harnex pane``."""
    if detail.row.state == STALE:
        return f"(the pane cannot be read: {detail.row.problem})"
    try:
        return source.remote_capture(detail.row.target, 200)
    except HarnexError as exc:
        return f"(cannot read the pane: {exc})"


def _dialog_excerpt(pane: Static) -> str:
    """The last lines of the preview, where a dialog's question is."""
    shown = str(pane.render())
    lines = [line for line in shown.splitlines() if line.strip()]
    return "\n".join(lines[-8:]) or "(the pane shows nothing yet)"
