"""One throwaway PostgreSQL server for the tests that run SQL there, on a unix socket only.

The server binaries come from Debian's package (``/usr/lib/postgresql/N/bin``) or PATH; the
client is psycopg (in the test extra): one connection in this process, no ``psql`` process per
query, and rows go in by ``COPY`` and come out typed. Where either is missing the tests skip
with the reason. PostgreSQL refuses to run as root, so as root (CI) the cluster is made and run
by the ``postgres`` system user in a temporary folder it owns; the server listens on no TCP
port, only on a socket in that folder, and is stopped and removed at the end of the session.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest


def server_binaries() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``: the newest Debian-packaged
    version, else the one on PATH; None when there is none."""

    def version(folder: str) -> tuple[int, ...]:
        name = folder.split("/")[-2]
        return tuple(int(p) for p in name.split(".") if p.isdigit())

    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version)
    on_path = shutil.which("pg_ctl")
    if on_path:
        folders.append(str(Path(on_path).parent))
    for folder in reversed(folders):
        if all((Path(folder) / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(folder)
    return None


@dataclass(frozen=True)
class Server:
    folder: Path
    """The socket folder (``host`` for a client)."""
    port: int
    user: str = "segtui"


def _as_owner(command: Sequence[str], owner: str | None) -> list[str]:
    return list(command) if owner is None else ["runuser", "-u", owner, "--", *command]


def start_server() -> Iterator[Server]:
    """Start a server (or skip with the reason), yield where it listens, then stop it."""
    binaries = server_binaries()
    if binaries is None:
        pytest.skip(
            "no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql or on PATH"
        )
    owner = None
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip(
                "PostgreSQL does not run as root, and there is no runuser to drop to its user"
            )
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("PostgreSQL does not run as root, and there is no 'postgres' user")
        owner = "postgres"
    folder = Path(tempfile.mkdtemp(prefix="segtui-pg-"))
    if owner is not None:
        shutil.chown(folder, owner)
    data = folder / "data"
    port = 50000 + os.getpid() % 10000

    def run(tool: str, *args: str) -> None:
        command = _as_owner([str(binaries / tool), *args], owner)
        subprocess.run(command, check=True, capture_output=True, text=True)

    try:
        run(
            "initdb",
            "-D",
            str(data),
            "-U",
            "segtui",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "-N",
        )
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{folder}' -p {port}"
            " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        )
        run("pg_ctl", "-D", str(data), "-l", str(folder / "log"), "-w", "-o", options, "start")
    except subprocess.CalledProcessError as error:
        log = folder / "log"
        shown = log.read_text() if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {error.stderr}\n{shown}") from error
    try:
        yield Server(folder, port)
    finally:
        subprocess.run(
            _as_owner(
                [str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], owner
            ),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)
