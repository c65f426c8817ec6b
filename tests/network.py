"""A private network for tests whose peers find each other on it (Ableton Link).

Link is machine-wide by design: every peer on the machine's loopback joins one
session, so two test suites running at once (two checkouts, a developer beside CI)
would join each other's sessions and see each other's tempos. `own_network()` moves
the calling thread into a fresh network namespace with only its loopback up; the
threads and processes it starts there (a Link peer, a second Link process) see one
another and nothing else, and the thread returns to the machine's network after.
JACK and files are unaffected: JACK talks over sockets in the file system.
"""
from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import socket
import struct

CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _loopback_up() -> None:
    """`ip link set lo up`, done with the ioctl `ip` uses (no iproute2 needed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))


@contextlib.contextmanager
def own_network():
    """Run the body (this thread, and the threads and child processes it starts) in a
    network of its own: a new namespace whose only interface is loopback.

    Needs CAP_SYS_ADMIN (root, as in CI and this project's containers); raises
    PermissionError where it is missing. Namespaces belong to threads, so other
    threads of the test process keep the machine's network."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
        try:
            _loopback_up()
            yield
        finally:
            _check(_libc.setns(home, CLONE_NEWNET), "setns back to the machine's network")
    finally:
        os.close(home)
