"""Start several ``syncledger`` commands at the same instant, as real processes.

One interpreter imports the CLI once, forks one child per command, and lets them all go
at once (each child waits on a pipe that the parent closes after the last fork); every
child runs the real ``syncledger.core.cli.main()`` with its own arguments and output file. Prints
the children's exit codes as a JSON list.

    python -m tests.support.concurrent_cli '[["status", "--data-dir", "d"], ...]' out-dir
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def _child(args: list[str], log: Path, gun: int) -> None:
    import syncledger.core.cli

    os.read(gun, 1)  # blocks until the parent closes the pipe: every child at once
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    sys.argv = ["syncledger", *args]
    code = 0
    try:
        syncledger.core.cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # a crash must show as a failure, not as exit 0
        code = 99
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> None:
    commands: list[list[str]] = json.loads(sys.argv[1])
    out = Path(sys.argv[2])
    import syncledger.audit.cli
    import syncledger.core.cli
    import syncledger.core.pipeline  # noqa: F401 - the commands' heavy imports, done before forking

    gun, fire = os.pipe()
    pids = []
    for i, args in enumerate(commands):
        pid = os.fork()
        if pid == 0:
            os.close(fire)
            _child(args, out / f"command-{i}.log", gun)
        pids.append(pid)
    os.close(gun)
    os.close(fire)  # every child's read returns now
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
    print(json.dumps(codes))


if __name__ == "__main__":
    main()
