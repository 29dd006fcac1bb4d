#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# console-recv.py SOCK OUT [--until TEXT] [--go FILE] — a --console-socket
# receiver, as conmon is one: listens on the unix socket SOCK, takes the
# terminal's master that comes with SCM_RIGHTS (the message is its name),
# with --go waits until FILE exists and writes "go\n" to the terminal, then
# reads what the command writes, until TEXT was seen (--until) or the
# command closed its terminal (EIO: the master stays open until then, as a
# master closed first would hang the command up), and writes the message,
# a newline and what was read to OUT.
import array
import os
import select
import socket
import sys
import time

sock, out = sys.argv[1], sys.argv[2]
opts = dict(zip(sys.argv[3::2], sys.argv[4::2]))
until = opts.get("--until", "").encode()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sock)
s.listen(1)
c, _ = s.accept()
fds = array.array("i")
msg, anc, _, _ = c.recvmsg(64, socket.CMSG_LEN(fds.itemsize))
fds.frombytes(anc[0][2][:fds.itemsize])
if "--go" in opts:
    while not os.path.exists(opts["--go"]):
        time.sleep(0.05)
    os.write(fds[0], b"go\n")
data = b""
while not (until and until in data) and select.select([fds[0]], [], [], 10)[0]:
    try:
        chunk = os.read(fds[0], 4096)
    except OSError:
        break
    if not chunk:
        break
    data += chunk
open(out, "wb").write(msg + b"\n" + data)
