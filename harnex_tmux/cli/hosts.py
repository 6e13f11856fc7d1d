"""``harnex hosts``: the machines whose sessions harnex reaches over ssh (``NAME:id``)."""

from __future__ import annotations

import threading
from typing import Any

import click

from harnex_tmux.cli.options import print_json


@click.group("hosts")
def command() -> None:
    """Other machines, reached with your ssh: add, list, check, upgrade, remove."""


@command.command("add")
@click.argument("name")
@click.argument("dest")
@click.option("--json", "as_json", is_flag=True, help="Print the host's facts as JSON.")
def add(name: str, dest: str, as_json: bool) -> None:
    """Add host NAME, reached as `ssh DEST` (user@host or an ssh config alias). Installs
    this harnex there when it has none or another version."""
    from harnex_tmux.hosts.store import Host, check_dest, check_name, load_hosts, save_hosts

    host = Host(check_name(name), check_dest(dest))
    report = _install(host, force=False)
    hosts = load_hosts()
    hosts[name] = host
    save_hosts(hosts)
    _say_installed(report, as_json)


@command.command("upgrade")
@click.argument("name")
@click.option("--force", is_flag=True, help="Install again even when the host has this build.")
@click.option("--json", "as_json", is_flag=True, help="Print the host's facts as JSON.")
def upgrade(name: str, force: bool, as_json: bool) -> None:
    """Put this harnex on host NAME when it runs another version or build (what every command
    that talks to it warns about). Sessions already running there keep their old venv."""
    from harnex_tmux.hosts.store import get_host

    _say_installed(_install(get_host(name), force), as_json)


def _install(host: Any, force: bool) -> dict[str, Any]:
    """Install this build on ``host`` unless it has it (or ``force``); its facts after."""
    from harnex_tmux.errors import HostError
    from harnex_tmux.hosts import channel, installer

    facts = installer.probe(host)
    problems = facts.problems()
    if problems:
        raise HostError(f"host {host.name!r}: {'; '.join(problems)}")
    before = facts.harnex_version
    installed = False
    if force or not facts.current():
        installer.install(host, facts)
        channel.forget(host.dest)
        facts = installer.probe(host)
        if not facts.current():
            raise HostError(f"host {host.name!r}: harnex was installed but does not answer there")
        installed = True
    return _facts(host, facts) | {"installed": installed, "previous": before}


def _say_installed(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(report)
        return
    what = "installed" if report["installed"] else "already there"
    click.echo(
        f"host {report['name']} ({report['dest']}): harnex {report['harnex']} {what}, "
        f"{report['tmux']}, python {report['python']}"
    )


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON list of hosts.")
def list_hosts(as_json: bool) -> None:
    """Each host: reachable or not, its harnex and tmux, its sessions (asked in parallel)."""
    from harnex_tmux.hosts.store import load_hosts

    hosts = list(load_hosts().values())
    found: dict[str, dict[str, Any]] = {}

    def fill(host: Any) -> None:
        found[host.name] = _survey(host)

    threads = [threading.Thread(target=fill, args=(h,), daemon=True) for h in hosts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    rows = [
        found.get(h.name) or {"name": h.name, "dest": h.dest, "reachable": False} for h in hosts
    ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("No hosts (harnex hosts add NAME USER@HOST adds one).")
        return
    header = ["NAME", "DEST", "REACHABLE", "HARNEX", "TMUX", "SESSIONS"]
    body = [
        [
            str(row["name"]),
            str(row["dest"]),
            "yes" if row["reachable"] else "no",
            str(row.get("harnex") or "-"),
            str(row.get("tmux") or "-"),
            "-" if row.get("sessions") is None else str(row["sessions"]),
        ]
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    for line in [header, *body]:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())


@command.command("check")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the host's facts as JSON.")
def check(name: str, as_json: bool) -> None:
    """Check that host NAME answers and runs this harnex; exit 1 when not."""
    from harnex_tmux.errors import HostError
    from harnex_tmux.hosts import installer
    from harnex_tmux.hosts.store import get_host

    host = get_host(name)
    facts = installer.probe(host)
    report = _facts(host, facts)
    problems = facts.problems()
    if not facts.current():
        version = facts.harnex_version
        problems.append(
            f"harnex {version} there, another build than this one" if version else "no harnex there"
        )
    report["problems"] = problems
    report["warnings"] = facts.warnings()
    kept = _channel(host) if facts.current() else None
    report["channel"] = kept.to_dict() if kept else None
    if as_json:
        print_json(report)
    else:
        click.echo(
            f"host {name} ({host.dest}): harnex {report['harnex'] or '-'}, {facts.tmux}, "
            f"linger {facts.linger or '?'}"
        )
        if kept is not None:
            click.echo(
                f"kept channel: in use (op server pid {kept.server.get('pid')})"
                if kept.in_use
                else f"kept channel: not in use ({kept.reason}); each op starts harnex there"
            )
        for warning in report["warnings"]:
            click.echo(f"harnex: host {name!r}: {warning}", err=True)
    if problems:
        fix = (
            f"harnex hosts upgrade {name}"
            if facts.harnex_version
            else f"harnex hosts add {name} ..."
        )
        raise HostError(f"host {name!r}: {'; '.join(problems)} ({fix})")


def _channel(host: Any) -> Any:
    """The kept channel's report (hosts/channel.py), set up when it is not."""
    from harnex_tmux.hosts import channel
    from harnex_tmux.session.polling import run_steps

    return run_steps(channel.report_steps(host))


@command.command("serve", hidden=True)
def serve() -> None:
    """Internal: start this host's op server when none runs (hosts/serve.py), print where
    it listens as JSON. Run over ssh by the machine that reaches this one."""
    from harnex_tmux.cli.main import COMMANDS, cli
    from harnex_tmux.hosts.serve import Program, start_main

    start_main(Program(lambda args: cli.main(args=args, prog_name="harnex"), COMMANDS))


@command.command("remove")
@click.argument("name")
def remove(name: str) -> None:
    """Forget host NAME (its sessions keep running there)."""
    from harnex_tmux.hosts import seen, ssh
    from harnex_tmux.hosts.store import get_host, load_hosts, save_hosts

    host = get_host(name)
    hosts = load_hosts()
    hosts.pop(name, None)
    save_hosts(hosts)
    ssh.close_master(host.dest)
    seen.forget(name)
    click.echo(f"host {name} removed")


def _facts(host: Any, facts: Any) -> dict[str, Any]:
    return {
        "name": host.name,
        "dest": host.dest,
        "reachable": True,
        "harnex": facts.harnex_version,
        "current": facts.current(),
        "tmux": facts.tmux or None,
        "python": facts.python or None,
        "platform": facts.platform or None,
        "linger": facts.linger or None,
    }


def _survey(host: Any) -> dict[str, Any]:
    from harnex_tmux.errors import HarnexError
    from harnex_tmux.hosts import installer
    from harnex_tmux.hosts.remote import host_rows

    try:
        facts = installer.probe(host, timeout=10)
    except HarnexError as exc:
        return {"name": host.name, "dest": host.dest, "reachable": False, "error": str(exc)}
    report = _facts(host, facts)
    found = host_rows(host) if facts.harnex_version else None
    report["sessions"] = None if found is None or found.error else len(found.rows)
    return report
