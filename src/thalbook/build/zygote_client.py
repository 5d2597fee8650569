"""What jupyter_client starts as the kernel when a kernel zygote runs.

``python -P -S zygote_client.py SOCKET KERNEL_COMMAND...``: it hands its
standard streams, arguments, environment and working directory to the zygote
(``zygote_server.py``), which forks the kernel; it relays signals to that
kernel and exits with its status, so that jupyter_client sees an ordinary
kernel process. If the zygote cannot be reached it becomes KERNEL_COMMAND
itself (``os.execv``): the zygote can make a build faster, never break it.
Started with ``-S`` (no site packages), so it imports only the standard library.

Written by hand: Jupyter has no fork server for kernels.
"""

import json
import os
import signal
import socket
import sys
import time


def relay(signum, frame):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    path, command = sys.argv[1], sys.argv[2:]
    request = json.dumps({"argv": command[3:], "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
    try:
        for attempt in range(50):
            try:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(path)
                break
            except OSError:
                sock.close()
                if attempt == 49:
                    raise
                time.sleep(0.1)
        socket.send_fds(sock, [len(request).to_bytes(8, "big")], [0, 1, 2])
        sock.sendall(request)
        reply = sock.makefile("rb")
        pid = int(reply.readline())  # no pid: the zygote is gone; ValueError
    except (OSError, ValueError):
        os.execv(command[0], command)  # no zygote: be the kernel command itself

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(signum, relay)
    status = reply.readline().strip()
    code = int(status) if status else 1
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)
