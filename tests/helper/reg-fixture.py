# SPDX-License-Identifier: Apache-2.0
"""The servers of the registry test fixture (tests/registry.bash).

Run with Debian's /usr/bin/python3 (python3-jwt, python3-cryptography):

  reg-fixture.py token --portfile F --log F --cert C --key K
                       --sign-key K --sign-cert C --issuer I --service S
                       --users HTPASSWD [--public-prefix public/] [--ttl 300]
      A token server as distribution's token auth expects one
      (docs/spec/auth/token.md): GET /token?service=S&scope=... with optional
      Basic credentials (checked against the htpasswd file with
      `htpasswd -vi`), or POST /token with an OAuth2 password grant.  It
      answers {"token", "access_token", "expires_in", "issued_at"}; the token
      is an RS256 JWT whose x5c header carries --sign-cert (the registry's
      auth.token.rootcertbundle), with iss, sub, aud, exp, nbf, iat, jti and
      the granted "access" list.  Grants: the user "tester" gets pull, push,
      delete on every repository and registry:catalog:*; every other known
      user gets pull; anonymous requests get pull on repositories whose name
      starts with --public-prefix and nothing else (a token with an empty
      access list, as Docker Hub does).  Wrong credentials: 401.

  reg-fixture.py blobs --portfile F --log F --root DIR [--cert C --key K]
      The far end of the registry's "redirect" storage middleware: serves
      the files below DIR (the registry's storage root) by path, GET and
      HEAD, with Range "bytes=N-" / "bytes=N-M".

  reg-fixture.py mkimage --layout DIR --ref REF [--base LAYOUT:REF
                         [--no-base-layers]] [--layer TAR]... [--compress gzip|gzip0|zstd|none]
                         [--platform OS/ARCH[/VARIANT]]
      Writes an OCI image into the layout DIR (made if missing) as REF: the
      base image's config and layers (blobs copied; only its config with
      --no-base-layers), plus each uncompressed
      TAR as a new layer compressed as asked (gzip0: gzip of stored blocks,
      whose size depends only on the input's size), the config's diff_ids
      and platform updated.

  reg-fixture.py mkindex --layout DIR --ref REF --manifest REF...
      Writes an OCI image index of the layout's images REF... (platform from
      each config) as REF.

  reg-fixture.py push --layout DIR --ref REF --url https://HOST/v2/NAME
                      --tag TAG [--cacert CA] [--header "Authorization: ..."]
      Pushes the layout's REF verbatim (an image, or an index and its
      images): blobs by a POST and a PUT, manifests by digest, the top one
      by TAG.  Unlike skopeo it keeps uncompressed layers as they are.

The servers listen on --addr (default 127.0.0.1) at a free port, write the port to
--portfile once they accept connections, and append one JSON line per
request to --log: {"server", "method", "path", "status", "headers": {...}}
(the token server adds "user" and "granted").
"""

import argparse
import base64
import datetime
import gzip
import hashlib
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG_LOCK = threading.Lock()


def log_line(path, record):
    with LOG_LOCK:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nroot-test-fixture"

    def log_message(self, format, *args):  # noqa: A002 (http.server's name)
        pass

    def record(self, status, **extra):
        rec = {
            "server": self.server.kind,
            "method": self.command,
            "path": self.path,
            "status": status,
            "headers": {k: v for k, v in self.headers.items()},
        }
        rec.update(extra)
        log_line(self.server.opts.log, rec)

    def send_body(self, status, body, ctype="application/json", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


# ------------------------------------------------------------------ token --


def check_password(users, user, password):
    r = subprocess.run(
        ["htpasswd", "-vi", users, user],
        input=password.encode(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return r.returncode == 0


def allowed_actions(opts, user, rtype, name):
    if user == "tester":
        if rtype == "repository":
            return {"pull", "push", "delete", "*"}
        if rtype == "registry" and name == "catalog":
            return {"*"}
        return set()
    if rtype != "repository":
        return set()
    if user is not None:
        return {"pull"}
    if opts.public_prefix and name.startswith(opts.public_prefix):
        return {"pull"}
    return set()


def parse_scope(scope):
    # TYPE:NAME:ACTIONS; NAME may itself hold ':' (a registry host:port)
    parts = scope.split(":")
    if len(parts) < 3:
        return None
    return parts[0], ":".join(parts[1:-1]), [a for a in parts[-1].split(",") if a]


class TokenHandler(Handler):
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            self.record(404)
            self.send_body(404, b'{"details":"not found"}')
            return
        q = urllib.parse.parse_qs(url.query)
        user = None
        auth = self.headers.get("Authorization", "")
        if auth:
            if not auth.startswith("Basic "):
                return self.refuse("unsupported authorization")
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return self.refuse("malformed basic credentials")
            if not check_password(self.server.opts.users, user, password):
                return self.refuse("incorrect username or password")
        self.issue(user, q.get("service", [""])[0], q.get("scope", []), q)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length", "0") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        if url.path != "/token" or form.get("grant_type", [""])[0] != "password":
            self.record(400)
            self.send_body(400, b'{"error":"unsupported_grant_type"}')
            return
        user = form.get("username", [""])[0]
        if not check_password(self.server.opts.users, user, form.get("password", [""])[0]):
            return self.refuse("incorrect username or password")
        scopes = []
        for s in form.get("scope", []):
            scopes.extend(s.split(" "))
        self.issue(user, form.get("service", [""])[0], scopes, form)

    def refuse(self, why):
        self.record(401, user=None, granted=None, error=why)
        body = json.dumps({"details": why}).encode()
        self.send_body(401, body, extra={"WWW-Authenticate": 'Basic realm="nroot-test-token"'})

    def issue(self, user, service, scopes, q):
        opts = self.server.opts
        if service != opts.service:
            self.record(400, user=user, granted=None, error="unknown service")
            self.send_body(400, json.dumps({"details": "unknown service %r" % service}).encode())
            return
        access = []
        for scope in scopes:
            parsed = parse_scope(scope)
            if parsed is None:
                continue
            rtype, name, actions = parsed
            ok = allowed_actions(opts, user, rtype, name)
            granted = [a for a in actions if a in ok]
            if granted:
                access.append({"type": rtype, "name": name, "actions": granted})
        now = int(time.time())
        claims = {
            "iss": opts.issuer,
            "sub": user or "",
            "aud": opts.service,
            "exp": now + opts.ttl,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        token = self.server.jwt.encode(
            claims, self.server.sign_key, algorithm="RS256", headers={"x5c": [self.server.x5c]}
        )
        body = {
            "token": token,
            "access_token": token,
            "expires_in": opts.ttl,
            "issued_at": datetime.datetime.fromtimestamp(now, datetime.timezone.utc).isoformat(),
        }
        self.record(200, user=user, granted=access)
        self.send_body(200, json.dumps(body).encode())


# ------------------------------------------------------------------ blobs --


class BlobHandler(Handler):
    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        root = self.server.opts.root
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        full = os.path.realpath(os.path.join(root, path.lstrip("/")))
        if not full.startswith(os.path.realpath(root) + os.sep) or not os.path.isfile(full):
            self.record(404)
            self.send_body(404, b"not found\n", "text/plain")
            return
        size = os.path.getsize(full)
        start, end, status = 0, size - 1, 200
        rng = self.headers.get("Range", "")
        if rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            try:
                start = int(a)
                end = int(b) if b else size - 1
            except ValueError:
                start, end = size, 0
            if start >= size or end < start:
                self.record(416)
                self.send_body(416, b"", "text/plain", {"Content-Range": "bytes */%d" % size})
                return
            end = min(end, size - 1)
            status = 206
        self.record(status)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        if self.command == "HEAD":
            return
        with open(full, "rb") as f:
            f.seek(start)
            left = end - start + 1
            rate = self.server.opts.throttle
            step = max(1024, rate // 20) if rate else 65536
            while left > 0:
                chunk = f.read(min(left, step))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)
                if rate:
                    self.wfile.flush()
                    time.sleep(len(chunk) / rate)


# ----------------------------------------------------------------- layout --

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"
LAYER_TYPES = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "gzip0": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "none": "application/vnd.oci.image.layer.v1.tar",
}


def blob_path(layout, digest):
    algo, _, hexd = digest.partition(":")
    return os.path.join(layout, "blobs", algo, hexd)


def put_blob(layout, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = blob_path(layout, digest)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not os.path.exists(path):
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.rename(path + ".tmp", path)
    return digest, len(data)


def read_blob(layout, digest):
    with open(blob_path(layout, digest), "rb") as f:
        return f.read()


def init_layout(layout):
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    if not os.path.exists(os.path.join(layout, "oci-layout")):
        with open(os.path.join(layout, "oci-layout"), "w", encoding="ascii") as f:
            f.write('{"imageLayoutVersion":"1.0.0"}')
    if not os.path.exists(os.path.join(layout, "index.json")):
        with open(os.path.join(layout, "index.json"), "w", encoding="ascii") as f:
            json.dump({"schemaVersion": 2, "manifests": []}, f)


def find_ref(layout, ref):
    with open(os.path.join(layout, "index.json"), encoding="utf-8") as f:
        index = json.load(f)
    for d in index.get("manifests", []):
        if d.get("annotations", {}).get(REF_NAME) == ref:
            return d
    raise SystemExit("reg-fixture.py: no image %r in %s" % (ref, layout))


def set_ref(layout, ref, desc):
    path = os.path.join(layout, "index.json")
    with open(path, encoding="utf-8") as f:
        index = json.load(f)
    keep = [d for d in index.get("manifests", []) if d.get("annotations", {}).get(REF_NAME) != ref]
    desc = dict(desc)
    desc["annotations"] = {REF_NAME: ref}
    index["manifests"] = keep + [desc]
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(index, f)
    os.rename(path + ".tmp", path)


def compress(data, how):
    if how == "gzip":
        return gzip.compress(data, 6, mtime=0)
    if how == "gzip0":
        return gzip.compress(data, 0, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout
    return data


def cmd_mkimage(opts):
    init_layout(opts.layout)
    if opts.base:
        base_layout, _, base_ref = opts.base.rpartition(":")
        mdesc = find_ref(base_layout, base_ref)
        manifest = json.loads(read_blob(base_layout, mdesc["digest"]))
        for d in [manifest["config"]] + manifest["layers"]:
            put_blob(opts.layout, read_blob(base_layout, d["digest"]))
        config = json.loads(read_blob(base_layout, manifest["config"]["digest"]))
        layers = list(manifest["layers"])
        if opts.no_base_layers:
            layers = []
            config["rootfs"]["diff_ids"] = []
    else:
        config = {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                       "Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": []},
        }
        layers = []
    for tar in opts.layer or []:
        with open(tar, "rb") as f:
            raw = f.read()
        config["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(raw).hexdigest())
        digest, size = put_blob(opts.layout, compress(raw, opts.compress))
        layers.append({"mediaType": LAYER_TYPES[opts.compress], "digest": digest, "size": size})
    if opts.platform:
        parts = opts.platform.split("/")
        config["os"], config["architecture"] = parts[0], parts[1]
        config.pop("variant", None)
        if len(parts) > 2:
            config["variant"] = parts[2]
    cdigest, csize = put_blob(opts.layout, json.dumps(config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": cdigest, "size": csize},
        "layers": layers,
    }
    mdigest, msize = put_blob(opts.layout, json.dumps(manifest, sort_keys=True).encode())
    set_ref(opts.layout, opts.ref, {"mediaType": OCI_MANIFEST, "digest": mdigest, "size": msize})
    print(mdigest)


def cmd_mkindex(opts):
    manifests = []
    for ref in opts.manifest:
        d = find_ref(opts.layout, ref)
        m = json.loads(read_blob(opts.layout, d["digest"]))
        c = json.loads(read_blob(opts.layout, m["config"]["digest"]))
        plat = {"architecture": c["architecture"], "os": c["os"]}
        if c.get("variant"):
            plat["variant"] = c["variant"]
        manifests.append({"mediaType": d["mediaType"], "digest": d["digest"], "size": d["size"],
                          "platform": plat})
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    digest, size = put_blob(opts.layout, json.dumps(index, sort_keys=True).encode())
    set_ref(opts.layout, opts.ref, {"mediaType": OCI_INDEX, "digest": digest, "size": size})
    print(digest)


class Pusher:
    def __init__(self, opts):
        self.opts = opts
        self.ctx = ssl.create_default_context(cafile=opts.cacert) if opts.cacert else None
        self.headers = {}
        for h in opts.header or []:
            k, _, v = h.partition(":")
            self.headers[k.strip()] = v.strip()

    def request(self, method, url, data=None, ctype=None, ok=(200, 201, 202)):
        req = urllib.request.Request(url, data=data, method=method, headers=dict(self.headers))
        if ctype:
            req.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(req, context=self.ctx) as r:
                r.read()
                return r.status, r.headers
        except urllib.error.HTTPError as e:
            if e.code in ok:
                return e.code, e.headers
            raise SystemExit("reg-fixture.py: %s %s: %d %s" % (method, url, e.code, e.read()[:300]))

    def blob(self, digest):
        url = self.opts.url + "/blobs/" + digest
        try:
            self.request("HEAD", url)
            return
        except SystemExit:
            pass
        _, h = self.request("POST", self.opts.url + "/blobs/uploads/")
        loc = urllib.parse.urljoin(self.opts.url, h["Location"])
        loc += ("&" if "?" in loc else "?") + "digest=" + urllib.parse.quote(digest)
        self.request("PUT", loc, read_blob(self.opts.layout, digest), "application/octet-stream")

    def manifest(self, desc, ref):
        body = read_blob(self.opts.layout, desc["digest"])
        m = json.loads(body)
        if "manifests" in m:
            for child in m["manifests"]:
                self.manifest(child, child["digest"])
        else:
            for d in [m["config"]] + m["layers"]:
                self.blob(d["digest"])
        self.request("PUT", self.opts.url + "/manifests/" + ref, body, desc["mediaType"])


def cmd_push(opts):
    Pusher(opts).manifest(find_ref(opts.layout, opts.ref), opts.tag)


# ------------------------------------------------------------------- main --


def main():
    p = argparse.ArgumentParser(prog="reg-fixture.py")
    p.add_argument("kind", choices=["token", "blobs", "mkimage", "mkindex", "push"])
    p.add_argument("--addr", default="127.0.0.1")
    p.add_argument("--portfile")
    p.add_argument("--log")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--sign-key")
    p.add_argument("--sign-cert")
    p.add_argument("--issuer", default="nroot-test-issuer")
    p.add_argument("--service", default="nroot-test-registry")
    p.add_argument("--users")
    p.add_argument("--public-prefix", default="public/")
    p.add_argument("--ttl", type=int, default=300)
    p.add_argument("--root")
    p.add_argument("--throttle", type=int, default=0, help="blobs: bytes a second")
    p.add_argument("--layout")
    p.add_argument("--ref")
    p.add_argument("--base")
    p.add_argument("--no-base-layers", action="store_true")
    p.add_argument("--layer", action="append")
    p.add_argument("--compress", choices=sorted(LAYER_TYPES), default="gzip")
    p.add_argument("--platform")
    p.add_argument("--manifest", action="append")
    p.add_argument("--url")
    p.add_argument("--tag")
    p.add_argument("--cacert")
    p.add_argument("--header", action="append")
    opts = p.parse_args()
    if opts.kind in ("mkimage", "mkindex", "push"):
        return {"mkimage": cmd_mkimage, "mkindex": cmd_mkindex, "push": cmd_push}[opts.kind](opts)
    if not (opts.portfile and opts.log):
        p.error("the servers need --portfile and --log")

    handler = TokenHandler if opts.kind == "token" else BlobHandler
    server = ThreadingHTTPServer((opts.addr, 0), handler)
    server.daemon_threads = True
    server.kind = opts.kind
    server.opts = opts
    if opts.kind == "token":
        import jwt  # python3-jwt, with python3-cryptography for RS256

        if not (opts.sign_key and opts.sign_cert and opts.users and opts.cert):
            p.error("token needs --sign-key, --sign-cert, --users and --cert")
        server.jwt = jwt
        with open(opts.sign_key, encoding="ascii") as f:
            server.sign_key = f.read()
        with open(opts.sign_cert, encoding="ascii") as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        server.x5c = base64.b64encode(der).decode()
    elif not opts.root:
        p.error("blobs needs --root")
    if opts.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(opts.cert, opts.key)
        # the handshake in the request thread, not in accept()
        server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)

    tmp = opts.portfile + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, opts.portfile)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
