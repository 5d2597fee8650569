"""The kernel zygote: imports once, then forks one fresh kernel per chapter.

Run by :func:`thalbook.build.kernels.kernel_zygote` as
``python -P zygote_server.py SOCKET IMPORTS BUILD_PID``. It listens on the Unix
socket SOCKET before importing (so that clients can queue meanwhile), imports
ipykernel and the modules in the JSON list IMPORTS, loads the data package once,
then forks a kernel for each client request (see ``zygote_client.py``): the
child takes the client's standard streams, arguments, environment and working
directory and becomes ``ipykernel``. It ends, and ends every kernel, when its
standard input closes (the build is over) or when the build process dies.

Written by hand: Jupyter has no fork server for kernels.
"""

import atexit
import ctypes
import importlib
import json
import os
import selectors
import signal
import socket
import sys


def receive(conn):  # an 8-byte length with the client's three standard streams, then JSON
    data, fds, _, _ = socket.recv_fds(conn, 8, 3)
    if len(fds) != 3:
        raise ValueError("expected three file descriptors")
    while len(data) < 8 or len(data) < 8 + int.from_bytes(data[:8], "big"):
        chunk = conn.recv(65536)
        if not chunk:
            raise EOFError
        data += chunk
    return json.loads(data[8:]), fds


def become_kernel(request, fds, zygote):
    prctl(1, signal.SIGKILL)
    if os.getppid() != zygote:
        os._exit(1)
    server.close()
    for conn, pidfd in kernels.values():
        if conn is not None:
            conn.close()
        os.close(pidfd)
    selector.close()
    os.setsid()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.path.insert(0, request["cwd"])  # as `python -m ipykernel_launcher` started there has it
    sys.argv = [ipykernel.kernelapp.__file__, *request["argv"]]
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()  # fresh entropy, as a fresh process would have
    # The one setting ipykernel reads from the environment at import time (the zygote's).
    parent = int(os.environ.get("JPY_PARENT_PID") or 0)
    ipykernel.kernelapp.IPKernelApp.launch_instance(parent_handle=parent)


if __name__ == "__main__":
    # Die with the build (PR_SET_PDEATHSIG), and each kernel with the zygote: a killed
    # build leaves nothing running.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl(1, signal.SIGKILL)
    if os.getppid() != int(sys.argv[3]):
        sys.exit(1)
    ZYGOTE = os.getpid()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sys.argv[1])
    server.listen(64)
    import ipykernel.kernelapp
    for name in json.loads(sys.argv[2]):
        try:
            importlib.import_module(name)
        except Exception:
            pass  # not a module ("from m import f"), or the chapter will report it itself
    if "thalbook.core.data" in sys.modules:
        try:
            sys.modules["thalbook.core.data"].load()  # validates once per content and process
        except Exception:
            pass

    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ, ("accept", 0))
    selector.register(sys.stdin, selectors.EVENT_READ, ("stdin", 0))  # closed: the build is over
    kernels = {}  # pid -> [client connection or None, pidfd]

    while True:
        for key, _ in selector.select():
            kind, pid = key.data
            if kind == "stdin":
                if not os.read(sys.stdin.fileno(), 1024):
                    for pid in kernels:
                        os.kill(pid, signal.SIGKILL)
                    sys.exit(0)
            elif kind == "accept":
                conn, _ = server.accept()
                try:
                    request, fds = receive(conn)
                except Exception:
                    conn.close()
                    continue
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    code = 1
                    try:
                        become_kernel(request, fds, zygote=ZYGOTE)
                        code = 0
                    except SystemExit as exc:
                        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
                    finally:
                        try:
                            atexit._run_exitfuncs()
                            sys.stdout.flush()
                            sys.stderr.flush()
                        finally:
                            os._exit(code)
                for fd in fds:
                    os.close(fd)
                pidfd = os.pidfd_open(pid)
                kernels[pid] = [conn, pidfd]
                selector.register(pidfd, selectors.EVENT_READ, ("exited", pid))
                selector.register(conn, selectors.EVENT_READ, ("client", pid))
                conn.sendall(f"{pid}\n".encode())
            elif kind == "exited":
                conn, pidfd = kernels.pop(pid)
                _, status = os.waitpid(pid, 0)
                selector.unregister(pidfd)
                os.close(pidfd)
                if conn is not None:
                    selector.unregister(conn)
                    try:
                        conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
                    except OSError:
                        pass
                    conn.close()
            elif kind == "client":  # the client hung up before its kernel ended: it was killed
                try:
                    gone = not key.fileobj.recv(1)
                except OSError:
                    gone = True
                if gone:
                    selector.unregister(key.fileobj)
                    key.fileobj.close()
                    kernels[pid][0] = None
                    os.kill(pid, signal.SIGKILL)
