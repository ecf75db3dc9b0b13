"""Run inside the Bash sandbox: relay a loopback port to sous's proxy socket, then run the command.

    python _netbridge.py SOCKET_PATH --seccomp|--seccomp-unix-sockets -- ARGV...

The command gets HTTP_PROXY/HTTPS_PROXY (both spellings) pointing at the relay; its exit status
is passed on. Standard library only: it runs with whatever Python started sous.
"""

import contextlib
import functools
import os
import socket
import subprocess
import sys
import threading


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def _relay(listener: socket.socket, socket_path: str) -> None:
    while True:
        client, _ = listener.accept()
        upstream = socket.socket(socket.AF_UNIX)
        try:
            upstream.connect(socket_path)
        except OSError:
            client.close()
            continue
        threading.Thread(target=_pipe, args=(client, upstream), daemon=True).start()
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()


def _seccomp_installer():
    """`_seccomp.install`, loaded by path (this script runs isolated, without sous on its path)."""
    import importlib.util

    path = os.path.join(os.path.dirname(__file__), "_seccomp.py")
    spec = importlib.util.spec_from_file_location("_sous_seccomp", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.install


def _undumpable() -> None:
    """Keep the command from tracing this relay (it may make Unix sockets, the command may not)."""
    import ctypes

    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0


def main(argv: list[str]) -> int:
    socket_path, argv = argv[0], argv[1:]
    _undumpable()
    # The filter is loaded in the child only, since this relay makes a Unix socket for each
    # connection to the proxy; --seccomp-unix-sockets lets the command make them too.
    install = None
    if argv[0] in ("--seccomp", "--seccomp-unix-sockets"):
        install, argv = functools.partial(_seccomp_installer(), argv[0] == "--seccomp-unix-sockets"), argv[1:]
    argv = argv[1:]  # "--"
    listener = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    env = dict(os.environ)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env[name] = url
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    # The child starts before the relay thread does: preexec_fn is only safe without other threads.
    child = subprocess.Popen(argv, env=env, preexec_fn=install)  # no thread runs yet
    threading.Thread(target=_relay, args=(listener, socket_path), daemon=True).start()
    code = child.wait()
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
