#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# A minimal HTTP CONNECT proxy for the tests: listens on 127.0.0.1, writes
# its port to PORTFILE once listening, logs one line per tunnel ("CONNECT
# host:port") to LOGFILE, and relays bytes both ways.  Plain HTTP requests
# through it (absolute URIs) are refused with 501.
import socket, sys, threading

def relay(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

def handle(c, log):
    head = b''
    while b'\r\n\r\n' not in head:
        d = c.recv(4096)
        if not d:
            c.close()
            return
        head += d
    line = head.split(b'\r\n', 1)[0].decode('latin-1')
    parts = line.split()
    if len(parts) < 2 or parts[0] != 'CONNECT':
        c.sendall(b'HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n\r\n')
        c.close()
        return
    with open(log, 'a') as f:
        f.write('CONNECT %s\n' % parts[1])
    host, _, port = parts[1].rpartition(':')
    try:
        u = socket.create_connection((host.strip('[]'), int(port)))
    except OSError:
        c.sendall(b'HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n')
        c.close()
        return
    c.sendall(b'HTTP/1.1 200 Connection established\r\n\r\n')
    rest = head.split(b'\r\n\r\n', 1)[1]
    if rest:
        u.sendall(rest)
    threading.Thread(target=relay, args=(u, c), daemon=True).start()
    relay(c, u)

def main():
    portfile, log = sys.argv[1], sys.argv[2]
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', 0))
    s.listen(64)
    with open(portfile + '.tmp', 'w') as f:
        f.write('%d\n' % s.getsockname()[1])
    import os
    os.rename(portfile + '.tmp', portfile)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c, log), daemon=True).start()

main()
