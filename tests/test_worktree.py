"""``run --worktree``, ``status``, ``diff``, ``stop`` and ``clean`` against real git repositories.

Each test makes its own repository in a temp folder; git runs with no global or system config
and a fixed identity, so the machine's git settings never matter.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import PYTHON, Harnex, recorded, wait_for

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.invalid",
}
DEMO = f"exec {shlex.quote(PYTHON)} -m harnex_tmux.demo_agent --busy 0.2"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True, timeout=30
    ).stdout


def make_git_repo(
    harnex: Harnex, monkeypatch: pytest.MonkeyPatch, files: Mapping[str, str] | None = None
) -> Path:
    """The harnex fixture's repo made a real git repository with one commit on ``main``
    (``README`` and ``files``), git's identity set for this test and the CLIs it runs."""
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    harnex.env.update(GIT_ENV)
    (harnex.repo / ".git").rmdir()
    git(harnex.repo, "init", "-q", "-b", "main")
    for name, text in {"README": "base\n", **(files or {})}.items():
        (harnex.repo / name).write_text(text)
    git(harnex.repo, "add", ".")
    git(harnex.repo, "commit", "-qm", "base")
    return harnex.repo


@pytest.fixture
def repo(harnex: Harnex, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repo whose ``.gitignore`` leaves out ``.env`` and ``*.local`` (see
    :func:`make_git_repo`)."""
    return make_git_repo(harnex, monkeypatch, {".gitignore": ".env\n*.local\n"})


def start_in_worktree(harnex: Harnex, ident: str, script: str, *extra: str) -> dict[str, Any]:
    """Start ``sh -c SCRIPT`` (which ends by becoming the demo agent) in a new worktree and
    wait until the demo agent shows its prompt, i.e. the script has run."""
    data = harnex.start(ident, "--worktree", *extra, command=["sh", "-c", f"{script}\n{DEMO}"])
    wait_demo(harnex, ident)
    return data


def wait_demo(harnex: Harnex, ident: str) -> None:
    """Wait until the demo agent has printed its banner: the script before it has finished
    (a quiet script can look like a prompt to the generic adapter on a slow machine)."""
    wait_for(
        lambda: "harnex demo agent" in harnex.json("pane", "--id", ident, "--json")["text"],
        timeout=60,
        interval=0.2,
    )
    harnex.run("wait", "--id", ident, "--until", "prompt", "--timeout", "30", check=True)


COMMIT_FEATURE = (
    "echo feature > feature.txt && git add feature.txt && git commit -qm feature && "
    "echo draft > notes.txt"
)


def branches(repo: Path) -> list[str]:
    return git(repo, "branch", "--format=%(refname:short)").split()


def worktree_list(repo: Path) -> list[str]:
    out = git(repo, "worktree", "list", "--porcelain")
    return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("worktree ")]


def nothing_made(harnex: Harnex, repo: Path, branch_names: tuple[str, ...] = ("main",)) -> None:
    assert branches(repo) == list(branch_names)
    assert worktree_list(repo) == [str(repo)]
    assert not (repo.parent / "repo.worktrees").exists()
    assert harnex.registry() == []
    assert list((harnex.state_dir / "worktrees").glob("*.json")) == []


def test_agent_commits_in_its_worktree_and_stop_keeps_it(harnex: Harnex, repo: Path) -> None:
    record = repo.parent / "messages.jsonl"
    data = harnex.start(
        "w1",
        "--worktree",
        command=[
            "sh",
            "-c",
            f"{COMMIT_FEATURE}\n{DEMO} --record {shlex.quote(str(record))}",
        ],
    )
    wait_demo(harnex, "w1")
    path = repo.parent / "repo.worktrees" / "w1"
    assert data["worktree"]["path"] == str(path)
    assert data["worktree"]["branch"] == "harnex/w1"
    assert data["worktree"]["base"] == git(repo, "rev-parse", "HEAD").strip()
    # The agent runs in the worktree; the commit is on its branch only.
    assert os.readlink(f"/proc/{data['pid']}/cwd") == str(path)
    assert (path / "feature.txt").read_text() == "feature\n"
    assert not (repo / "feature.txt").exists() and not (repo / "notes.txt").exists()
    assert "feature.txt" in git(repo, "show", "--name-only", "harnex/w1")
    assert git(repo, "log", "--format=%s", "main").split() == ["base"]
    # Registered under the original repository: found from the main checkout by id.
    (registered,) = harnex.registry()
    assert registered["repo_root"] == str(repo)
    harnex.run("send", "--id", "w1", "--message", "hello from main", check=True)
    wait_for(lambda: recorded(record) == ["hello from main"], timeout=20)

    (row,) = harnex.json("status", "--json")
    assert row["worktree"]["branch"] == "harnex/w1"
    assert row["worktree"]["ahead"] == 1
    assert row["worktree"]["changed_files"] == ["feature.txt", "notes.txt"]
    assert row["worktree"]["uncommitted"] == ["notes.txt"]
    table = harnex.run("status", check=True).stdout.splitlines()
    header = table[0].split()
    assert header[7:10] == ["BRANCH", "AHEAD", "CHANGED"]
    cells = table[2].split()
    assert cells[7:10] == ["harnex/w1", "1", "2"]

    stat = harnex.run("diff", "--id", "w1", "--stat", check=True).stdout
    assert "feature.txt" in stat and "untracked: notes.txt" in stat
    patch = harnex.run("diff", "--id", "w1", check=True).stdout
    assert "+feature" in patch
    info = harnex.json("diff", "--id", "w1", "--json")
    assert info["files"] == [{"path": "feature.txt", "added": 1, "deleted": 0}]
    assert info["untracked"] == ["notes.txt"] and "+feature" in info["patch"]

    stopped = harnex.json("stop", "--id", "w1")
    assert (stopped["worktree"], stopped["branch"]) == (str(path), "harnex/w1")
    assert harnex.registry() == []
    assert (path / "feature.txt").exists() and (path / "notes.txt").exists()
    assert "harnex/w1" in branches(repo)
    # The ended session's work is still there to look at.
    assert harnex.json("diff", "--id", "w1", "--json", "--stat")["ahead"] == 1


def test_clean_keeps_unsafe_work_and_removes_merged_work(harnex: Harnex, repo: Path) -> None:
    start_in_worktree(harnex, "w1", COMMIT_FEATURE)
    path = repo.parent / "repo.worktrees" / "w1"
    running = harnex.run("clean", "--id", "w1")
    assert running.returncode == 1
    assert running.stdout.startswith("kept w1: session is still running")
    harnex.run("stop", "--id", "w1", check=True)

    dirty = harnex.run("clean", "--id", "w1")
    assert dirty.returncode == 1
    assert dirty.stdout == (
        f"kept w1: 1 uncommitted file(s) in {path} (--force removes it anyway)\n"
    )
    (path / "notes.txt").unlink()
    unmerged = harnex.run("clean")  # every ended session: kept work is no error
    assert unmerged.returncode == 0
    assert "neither merged nor pushed" in unmerged.stdout
    assert path.is_dir() and "harnex/w1" in branches(repo)

    git(repo, "merge", "-q", "--ff-only", "harnex/w1")
    (outcome,) = harnex.json("clean", "--json")
    assert outcome == {
        "id": "w1",
        "path": str(path),
        "branch": "harnex/w1",
        "removed": True,
        "reason": "merged into main",
    }
    assert not path.exists() and not path.parent.exists()
    assert branches(repo) == ["main"] and worktree_list(repo) == [str(repo)]
    assert (repo / "feature.txt").exists()  # the merged work stays, of course
    assert harnex.run("clean", check=True).stdout == f"No harnex worktrees for {repo}.\n"


def test_clean_counts_pushed_work_as_safe_and_force_removes_the_rest(
    harnex: Harnex, repo: Path, tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    # Each commits its own id: equal content, parent and second would make equal commits.
    commit = "echo $HARNEX_ID > x.txt && git add x.txt && git commit -qm x"
    start_in_worktree(harnex, "pushed", f"{commit} && git push -q origin HEAD")
    start_in_worktree(harnex, "lost", commit)
    harnex.run("stop", "--id", "pushed", check=True)
    harnex.run("stop", "--id", "lost", check=True)
    outcomes = {o["id"]: o for o in harnex.json("clean", "--json")}
    assert outcomes["pushed"]["removed"] is True
    assert outcomes["pushed"]["reason"].startswith("pushed (origin/")
    assert outcomes["lost"]["removed"] is False
    forced = harnex.run("clean", "--id", "lost", "--force", check=True).stdout
    assert forced.startswith("removed lost: worktree ")
    assert "forced; branch harnex/lost has 1 commit(s) neither merged nor pushed" in forced
    assert branches(repo) == ["main"]


def test_include_file_and_setup_command(harnex: Harnex, repo: Path) -> None:
    (repo / ".env").write_text("TOKEN=abc\n")
    (repo / "conf").mkdir()
    (repo / "conf" / "db.local").write_text("db\n")
    (repo / "conf" / "other.local").write_text("not listed\n")
    (repo / ".worktreeinclude").write_text("# what a worktree needs\n.env\nconf/db.local\n")
    setup = "cat .env > setup-saw.txt; echo SETUP-RAN-$HARNEX_BRANCH"
    start_in_worktree(harnex, "w1", "true", "--setup", setup)
    path = repo.parent / "repo.worktrees" / "w1"
    assert (path / ".env").read_text() == "TOKEN=abc\n"
    assert (path / "conf" / "db.local").read_text() == "db\n"
    assert not (path / "conf" / "other.local").exists()
    assert (path / "setup-saw.txt").read_text() == "TOKEN=abc\n"
    logs = harnex.run("logs", "--id", "w1", check=True).stdout
    assert "SETUP-RAN-harnex/w1" in logs
    # Copied files are ignored ones, so they do not count as unfinished work.
    (path / "setup-saw.txt").unlink()
    harnex.run("stop", "--id", "w1", check=True)
    removed = harnex.run("clean", "--id", "w1", check=True).stdout
    assert (
        removed == f"removed w1: worktree {path} and branch harnex/w1 (no commits since its base)\n"
    )
    assert not path.exists()


def test_failing_setup_leaves_nothing(harnex: Harnex, repo: Path) -> None:
    result = harnex.run(
        "run", "--id", "w1", "--detach", "--worktree", "--setup", "echo broken >&2; exit 3", "sh"
    )
    assert result.returncode == 1
    assert result.stderr.startswith("harnex: worktree setup command exited 3")
    assert result.stderr.count("\n") == 1
    nothing_made(harnex, repo)
    assert "broken" in next((harnex.state_dir / "output").glob("*.log")).read_text()


def test_bad_input_is_one_line_and_makes_nothing(harnex: Harnex, repo: Path) -> None:
    def refused(*args: str, code: int = 1, env: dict[str, str] | None = None) -> str:
        before = tuple(branches(repo))
        result = harnex.run("run", "--id", "w1", "--detach", *args, env=env)
        assert result.returncode == code, result.stderr
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("harnex: ")
        nothing_made(harnex, repo, before)
        return result.stderr

    git(repo, "branch", "taken")
    assert "branch 'taken' already exists" in refused("--worktree", "taken", "sh")
    git(repo, "branch", "-D", "taken")
    assert "'no-such-ref' is not a commit" in refused("--worktree", "--base", "no-such-ref", "sh")
    assert "not a valid branch name" in refused("--worktree", "bad..name", "sh")
    assert "--base and --setup need --worktree" in refused("--base", "main", "sh", code=2)

    (repo / "README").write_text("changed\n")
    assert "has uncommitted changes" in refused("--worktree", "sh")
    git(repo, "checkout", "-q", "README")

    taken = repo.parent / "repo.worktrees" / "w1"
    taken.mkdir(parents=True)
    result = harnex.run("run", "--id", "w1", "--detach", "--worktree", "sh")
    assert result.returncode == 1
    assert result.stderr == f"harnex: worktree path {taken} already exists\n"
    assert branches(repo) == ["main"] and worktree_list(repo) == [str(repo)]
    assert list(taken.iterdir()) == [] and harnex.registry() == []
    taken.rmdir()
    taken.parent.rmdir()

    bin_dir = repo.parent / "bin-without-git"
    bin_dir.mkdir()
    for tool in ("tmux", "sh"):
        found = subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True, text=True)
        (bin_dir / tool).symlink_to(found.stdout.strip())
    no_git = dict(harnex.env, PATH=str(bin_dir))
    assert "git not found on PATH" in refused("--worktree", "sh", env=no_git)


def test_not_a_git_repository_or_no_commit_yet(harnex: Harnex) -> None:
    # The harnex fixture's repo has an empty .git folder: not a repository to git.
    result = harnex.run("run", "--id", "w1", "--detach", "--worktree", "sh")
    assert result.returncode == 1
    assert result.stderr == f"harnex: not a git repository: {harnex.repo}\n"
    (harnex.repo / ".git").rmdir()
    git(harnex.repo, "init", "-q", "-b", "main")
    result = harnex.run("run", "--id", "w1", "--detach", "--worktree", "sh")
    assert result.returncode == 1
    assert result.stderr == f"harnex: {harnex.repo} has no commit yet to start a worktree from\n"
    assert harnex.registry() == [] and not (harnex.repo.parent / "repo.worktrees").exists()


def test_two_agents_in_parallel_never_see_each_others_files(harnex: Harnex, repo: Path) -> None:
    # Both write the same file name: in one checkout the second would overwrite the first.
    for ident in ("a", "b"):
        harnex.start(
            ident,
            "--worktree",
            command=[
                "sh",
                "-c",
                f"echo {ident} > shared.txt && echo {ident} > only-{ident}.txt\n{DEMO}",
            ],
        )
    for ident in ("a", "b"):
        wait_demo(harnex, ident)
    folder = repo.parent / "repo.worktrees"
    assert (folder / "a" / "shared.txt").read_text() == "a\n"
    assert (folder / "b" / "shared.txt").read_text() == "b\n"
    assert not (folder / "a" / "only-b.txt").exists()
    assert not (folder / "b" / "only-a.txt").exists()
    assert not (repo / "shared.txt").exists()
    rows = {row["id"]: row["worktree"] for row in harnex.json("status", "--json")}
    assert rows["a"]["changed_files"] == ["only-a.txt", "shared.txt"]
    assert rows["b"]["changed_files"] == ["only-b.txt", "shared.txt"]
    assert {rows["a"]["branch"], rows["b"]["branch"]} == {"harnex/a", "harnex/b"}


def test_foreground_run_says_where_the_work_stays(harnex: Harnex, repo: Path) -> None:
    script = "echo done > result.txt && git add result.txt && git commit -qm result"
    result = harnex.run("run", "--id", "fg", "--worktree", "sh", "--", "-c", script, timeout=60)
    assert result.returncode == 0, result.stderr
    path = repo.parent / "repo.worktrees" / "fg"
    assert f"stays in {path} on branch harnex/fg" in result.stderr
    assert (path / "result.txt").exists() and not (repo / "result.txt").exists()


def test_worktree_dir_and_branch_name(harnex: Harnex, repo: Path, tmp_path: Path) -> None:
    where = tmp_path / "elsewhere"
    env = dict(harnex.env, HARNEX_WORKTREE_DIR=str(where))
    data = harnex.start("w1", "--worktree", "feat/x", command=["sh", "-c", DEMO], env=env)
    assert data["worktree"]["path"] == str(where / "repo" / "w1")
    assert data["worktree"]["branch"] == "feat/x"
    assert (where / "repo" / "w1" / "README").exists()
    listed = json.loads(harnex.run("diff", "--json", "--stat", check=True).stdout)
    assert listed["branch"] == "feat/x" and listed["ahead"] == 0


def test_agent_starts_in_the_subfolder_it_was_launched_from(harnex: Harnex, repo: Path) -> None:
    (repo / "pkg").mkdir()
    (repo / "pkg" / "mod.py").write_text("")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "pkg")
    result = harnex.run(
        "run", "--id", "sub", "--detach", "--worktree", "sh", "--", "-c", DEMO, cwd=repo / "pkg"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert os.readlink(f"/proc/{data['pid']}/cwd") == data["worktree"]["path"] + "/pkg"
    assert data["worktree"]["repo_root"] == str(repo)


def test_cwd_starts_elsewhere_and_worktree_comes_from_its_repository(
    harnex: Harnex, repo: Path, tmp_path: Path
) -> None:
    """``run --cwd DIR --worktree`` from a folder outside any repository: the worktree is
    made from DIR's repository, and the agent starts in DIR's place inside it."""
    (repo / "pkg").mkdir()
    (repo / "pkg" / "mod.py").write_text("")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "pkg")
    outside = tmp_path / "outside"
    outside.mkdir()
    result = harnex.run(
        "run", "--id", "cw", "--detach", "--cwd", str(repo / "pkg"), "--worktree",
        "sh", "--", "-c", DEMO,
        cwd=outside,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["worktree"]["repo_root"] == str(repo)
    assert data["worktree"]["path"] == str(repo.parent / "repo.worktrees" / "cw")
    assert os.readlink(f"/proc/{data['pid']}/cwd") == data["worktree"]["path"] + "/pkg"
    assert branches(repo) == ["harnex/cw", "main"]


def test_a_worktree_deleted_by_hand(harnex: Harnex, repo: Path) -> None:
    start_in_worktree(harnex, "gone", "true")
    path = repo.parent / "repo.worktrees" / "gone"
    shutil.rmtree(path)
    (row,) = harnex.json("status", "--json")
    assert row["worktree"]["error"] == f"folder {path} does not exist"
    cells = harnex.run("status", check=True).stdout.splitlines()[2].split()
    assert cells[7:10] == ["harnex/gone", "?", "?"]
    missing = harnex.run("diff", "--id", "gone")
    assert missing.returncode == 1
    assert missing.stderr == f"harnex: worktree {path} of 'gone' no longer exists\n"
    harnex.run("stop", "--id", "gone", check=True)
    (outcome,) = harnex.json("clean", "--json")
    assert outcome["removed"] is True and outcome["reason"] == "no commits since its base"
    assert branches(repo) == ["main"] and worktree_list(repo) == [str(repo)]


def test_a_worker_in_its_worktree_reaches_sessions_of_the_main_checkout(
    harnex: Harnex, repo: Path
) -> None:
    lead_record = repo.parent / "lead.jsonl"
    harnex.start_demo("lead", record=lead_record)
    start_in_worktree(harnex, "worker", "true")
    path = repo.parent / "repo.worktrees" / "worker"
    # What a worker does to reply: `harnex send --id <lead>` from its own folder.
    harnex.run("send", "--id", "lead", "--message", "done: from the worktree", cwd=path, check=True)
    wait_for(lambda: recorded(lead_record) == ["done: from the worktree"], timeout=20)
    listed = harnex.json("status", "--json", cwd=path)
    assert sorted(row["id"] for row in listed) == ["lead", "worker"]


def test_launched_from_a_linked_worktree_it_starts_from_that_checkout(
    harnex: Harnex, repo: Path
) -> None:
    side = repo.parent / "side"
    git(repo, "worktree", "add", "-q", "-b", "side", str(side))
    (side / "side.txt").write_text("side\n")
    git(side, "add", "side.txt")
    git(side, "commit", "-qm", "side")
    result = harnex.run(
        "run", "--id", "w1", "--detach", "--worktree", "sh", "--", "-c", DEMO, cwd=side
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)["worktree"]
    assert data["base"] == git(side, "rev-parse", "HEAD").strip()
    assert data["base_ref"] == "side" and data["repo_root"] == str(repo)
    assert data["path"] == str(repo.parent / "repo.worktrees" / "w1")
    assert (Path(data["path"]) / "side.txt").exists()
    (registered,) = harnex.registry()
    assert registered["repo_root"] == str(repo)


def test_library_start_session_in_a_worktree(harnex: Harnex, repo: Path) -> None:
    from harnex_tmux import LaunchSpec, WorktreeRequest, start_session
    from harnex_tmux.tmux import choose_server

    spec = LaunchSpec(
        id="lib",
        command=["sh", "-c", DEMO],
        repo_root=str(repo),
        cwd=str(repo),
        cli="sh",
        socket_path=choose_server(None).socket_path,
    )
    started = start_session(spec, timeout=20, worktree=WorktreeRequest(branch="lib-work"))
    assert started.record.worktree is not None
    assert started.record.worktree["branch"] == "lib-work"
    assert os.readlink(f"/proc/{started.record.pid}/cwd") == started.record.worktree["path"]
    assert "lib-work" in branches(repo)
