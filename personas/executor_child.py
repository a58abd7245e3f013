"""The first code to run in the executor's child process (``python -I -S -c <this file>``).

lyceum never imports this module; ``personas.executor`` passes its source to a fresh
interpreter. It runs trusted, before any model-written code, and in this order:

1. read the program from stdin (the parent wrote it to a file);
2. import a few standard modules, so that they still work when the interpreter lives where
   the unprivileged user cannot read (e.g. ``/root/.pyenv``) and there is no bubblewrap;
3. if it is root: drop every group, then become the unprivileged ``uid``/``gid``. This comes
   *before* the limits: ``setuid`` checks ``RLIMIT_NPROC``, and a process found over it then
   fails its next ``execve`` with ``EAGAIN``;
4. enter the working folder (as the unprivileged user), then set the rlimits (CPU, address
   space, open files, file size, processes: no fork);
5. run the program as ``__main__`` in a fresh namespace.

A failure in steps 3 and 4 exits with status 125 before the program runs.
"""

import json
import os
import resource
import sys

PRELOAD = (
    *("bisect", "collections", "datetime", "decimal", "fractions", "functools", "heapq"),
    *("itertools", "json", "math", "operator", "random", "re", "statistics", "string"),
)


def _prepare(config: dict[str, object]) -> None:
    drop = config.get("drop_to")
    if isinstance(drop, list) and os.geteuid() == 0:
        os.setgroups([])
        os.setgid(int(drop[1]))
        os.setuid(int(drop[0]))
        if os.geteuid() == 0 or os.getuid() == 0:
            raise OSError("still root after setuid")
    os.chdir(str(config["cwd"]))
    limits = config.get("rlimits")
    assert isinstance(limits, dict)
    for name, (soft, hard) in limits.items():
        resource.setrlimit(getattr(resource, name), (int(soft), int(hard)))


def main() -> None:
    config = json.loads(sys.argv[1])
    source = sys.stdin.read()
    for name in PRELOAD:
        __import__(name)
    try:
        _prepare(config)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"lyceum executor: could not isolate the program: {exc}\n")
        sys.exit(125)
    sys.argv = ["<model code>"]
    program = compile(source, "<model code>", "exec")
    exec(program, {"__name__": "__main__", "__builtins__": __builtins__})


if __name__ == "__main__":
    main()
