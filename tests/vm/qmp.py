# SPDX-License-Identifier: BSD-3-Clause
"""A QMP client (QEMU Machine Protocol over a unix socket), standard library only.

    q = Qmp("/tmp/x/qmp.sock", timeout=10)    # connects, reads the greeting, negotiates
    q.cmd("query-status")                       # -> the "return" value; QmpError on "error"
    q.wait_event("STOP", timeout=5)             # events seen so far are kept in q.events

Every read is bounded: a QEMU that stops answering raises TimeoutError naming the command.
"""
import json
import socket
import time


class QmpError(RuntimeError):
    pass


class Qmp:
    def __init__(self, path, timeout=10.0):
        self.path = path
        self.timeout = timeout
        self.events = []
        self._buf = b""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self._sock.connect(path)
                break
            except OSError as e:
                self._sock.close()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"QMP socket {path} not accepting within {timeout} s: {e}")
                time.sleep(0.05)
        greeting = self._read(deadline)
        if "QMP" not in greeting:
            raise QmpError(f"{path}: not a QMP greeting: {greeting}")
        self.cmd("qmp_capabilities")

    def close(self):
        self._sock.close()

    def _read(self, deadline):
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"QMP {self.path}: no answer")
            self._sock.settimeout(left)
            try:
                chunk = self._sock.recv(65536)
            except socket.timeout:
                raise TimeoutError(f"QMP {self.path}: no answer") from None
            if not chunk:
                raise ConnectionError(f"QMP {self.path}: QEMU closed the connection")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, timeout=None, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self._sock.sendall(json.dumps(msg).encode() + b"\n")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                r = self._read(deadline)
            except TimeoutError:
                raise TimeoutError(f"QMP {self.path}: no answer to {name}") from None
            if "event" in r:
                self.events.append(r)
                continue
            if "error" in r:
                raise QmpError(f"{name}: {r['error'].get('desc', r['error'])}")
            return r.get("return")

    def wait_event(self, name, timeout):
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e["event"] == name:
                    return self.events.pop(i)
            self.events.append(self._read(deadline))
