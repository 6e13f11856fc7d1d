"""Which known CLIs are on PATH, and their versions against the tested ones (compat.toml)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from harnex_tmux.compat import Placement, TestedRelease, parse_version, place
from harnex_tmux.doctor.model import Check, Context, InstalledCli, Status

SHOWN_OUTPUT = 60


def find_installed(ctx: Context) -> dict[str, InstalledCli]:
    """Each tested CLI whose command (as its adapter file names it) is on PATH."""
    found = {}
    for adapter, release in ctx.releases.items():
        rules = ctx.catalog.rules.get(adapter)
        command = rules.commands[0] if rules is not None and rules.commands else adapter
        path = shutil.which(command, path=ctx.env.get("PATH"))
        if path is not None:
            found[adapter] = InstalledCli(release, command, path)
    return found


def check_versions(ctx: Context) -> list[Check]:
    """One check per tested CLI: not installed (skip), or its version placed."""
    with ThreadPoolExecutor(max_workers=max(1, len(ctx.installed))) as pool:
        answers = {
            adapter: pool.submit(_version_output, cli.path, ctx.env, ctx.version_timeout)
            for adapter, cli in ctx.installed.items()
        }
        checks = []
        for adapter, release in ctx.releases.items():
            cli = ctx.installed.get(adapter)
            if cli is None:
                rules = ctx.catalog.rules.get(adapter)
                command = rules.commands[0] if rules is not None and rules.commands else adapter
                checks.append(
                    Check(
                        f"cli/{adapter}",
                        Status.SKIP,
                        f"{command} is not on PATH",
                        f"to use {release.name}: {release.install_command}",
                    )
                )
                continue
            checks.append(
                _placed(adapter, cli, release, answers[adapter].result(), ctx.version_timeout)
            )
    if not ctx.installed:
        names = ", ".join(r.name for r in ctx.releases.values())
        checks.append(
            Check(
                "cli",
                Status.WARN,
                f"none of the CLIs harnex knows is on PATH ({names})",
                "install one (the lines above say how); any other program runs as generic",
            )
        )
    return checks


def _version_output(path: str, env: Mapping[str, str], timeout: float) -> str | None:
    """What ``<cli> --version`` printed, or None when it did not finish in time."""
    try:
        done = subprocess.run(
            [path, "--version"],
            env=dict(env),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    except OSError as exc:
        return f"could not run: {exc.strerror or exc}"
    return done.stdout + "\n" + done.stderr


def _placed(
    adapter: str, cli: InstalledCli, release: TestedRelease, output: str | None, timeout: float
) -> Check:
    name = f"cli/{adapter}"
    pin = f"pin the tested one: {release.install_command}"
    if output is None:
        return Check(
            name,
            Status.WARN,
            f"{cli.path} --version did not answer within {timeout:g}s",
            f"run `{cli.command} --version` yourself to see why; if it is broken, {pin}",
        )
    found = _version_line(output)
    version = parse_version(found)
    if version is None:
        shown = found[:SHOWN_OUTPUT] or "nothing"
        return Check(
            name,
            Status.WARN,
            f"{cli.path} --version printed no version number: {shown!r}",
            f"check that {cli.path} is {release.name}; if it is, {pin}",
        )
    text = ".".join(str(n) for n in version)
    placement = place(version, parse_version(release.tested) or ())
    if placement is Placement.TESTED:
        return Check(name, Status.OK, f"{text}, the tested release ({cli.path})")
    detail = f"{text}, {placement.value} {release.tested} ({cli.path})"
    if placement is Placement.NEWER:
        fix = (
            f"likely fine; if harnex misreads its screen, {pin}, "
            f"or patch its adapter file (harnex adapters show {adapter})"
        )
    else:
        fix = f"update it: {release.install_command}"
    return Check(name, Status.WARN, detail, fix)


def _version_line(output: str) -> str:
    """The first line of the answer that holds a version (CLIs may warn before it), else
    the first line of anything printed."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        if parse_version(line) is not None:
            return line
    return lines[0] if lines else ""
