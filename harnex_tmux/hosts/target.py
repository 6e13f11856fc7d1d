"""Finding a session by what a command was given: a local id, or ``NAME:id`` on a host."""

from __future__ import annotations

from harnex_tmux.hosts.remote import RemoteSession
from harnex_tmux.session.handle import Session


def find(
    ident: str | None = None,
    repo: str | None = None,
    cli: str | None = None,
    any_repo: bool = False,
) -> Session:
    """``Session.find``, plus ``NAME:id``: session ``id`` on host NAME (``harnex hosts``)."""
    if ident is not None and ":" in ident:
        return RemoteSession.for_target(ident)
    return Session.find(ident, repo, cli, any_repo)
