"""``harnex dash``: the fleet of sessions on one screen.

Only :mod:`harnex_tmux.dash.app` and the widgets import Textual; :mod:`.model` and
:mod:`.fleet` are plain Python, so ``harnex status --tmux`` and the tests use them without it.
"""
