#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fuzz/seeds.py — write the starting seeds of every harness to DIR/NAME/
(default fuzz/seeds/, not committed).  The committed corpus fuzz/corpus/NAME/
is what `afl-cmin` kept of these seeds and of the campaign's queue; see
fuzz/README.md.  Needs python3 and the zstd command."""
import bz2, gzip, io, json, lzma, os, subprocess, sys, tarfile

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "seeds")


def write(name, sub, data):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, sub), "wb") as f:
        f.write(data)


def tar(entries, fmt=tarfile.GNU_FORMAT):
    """entries: (name, kind, extra) with kind f (data) d l (target) h (target) c/b (rdev) p"""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for e in entries:
            name, kind = e[0], e[1]
            extra = e[2] if len(e) > 2 else None
            ti = tarfile.TarInfo(name)
            ti.mode = 0o755 if kind == "d" else 0o644
            ti.uid = ti.gid = 0
            if len(e) > 3:
                for k, v in e[3].items():
                    setattr(ti, k, v)
            data = None
            if kind == "f":
                data = extra if extra is not None else name.encode()
                ti.size = len(data)
            elif kind == "d":
                ti.type = tarfile.DIRTYPE
            elif kind == "l":
                ti.type, ti.linkname = tarfile.SYMTYPE, extra
            elif kind == "h":
                ti.type, ti.linkname = tarfile.LNKTYPE, extra
            elif kind in "cb":
                ti.type = tarfile.CHRTYPE if kind == "c" else tarfile.BLKTYPE
                ti.devmajor, ti.devminor = extra or (0, 0)
            elif kind == "p":
                ti.type = tarfile.FIFOTYPE
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def zstd(data):
    return subprocess.run(["zstd", "-q", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout


TREE = [("etc", "d"), ("etc/passwd", "f", b"root:x:0:0::/root:/bin/sh\n"), ("usr", "d"),
        ("usr/bin", "d"), ("usr/bin/sh", "f", b"\x7fELF"), ("bin", "l", "usr/bin"),
        ("usr/bin/ash", "h", "usr/bin/sh"), ("tmp", "d", None, {"mode": 0o1777})]

# ---- layer: rootfs tarballs ----
layer = {
    "tree.tar": tar(TREE),
    "tree.tar.gz": gzip.compress(tar(TREE)),
    "tree.tar.xz": lzma.compress(tar(TREE)),
    "tree.tar.bz2": bz2.compress(tar(TREE)),
    "tree.tar.zst": zstd(tar(TREE)),
    "pax.tar": tar(TREE + [("a" * 150 + "/b" * 40, "f"), ("x", "f", b"x", {"pax_headers": {
        "SCHILY.xattr.user.k": "v", "path": "long/" + "p" * 120}})], tarfile.PAX_FORMAT),
    "ustar.tar": tar(TREE, tarfile.USTAR_FORMAT),
    "owners.tar": tar([("a", "d", None, {"uid": 1000, "gid": 1000}),
                       ("a/f", "f", b"f", {"uid": 65534, "gid": 4294967294, "mode": 0o4755}),
                       ("g", "f", b"g", {"mode": 0o2000, "uname": "nobody", "gname": "nogroup"})]),
    "dotdot.tar": tar([("../escape", "f"), ("a/../../b", "f")]),
    "absolute.tar": tar([("/etc/x", "f"), ("/abs", "l", "/etc"), ("h", "h", "/etc/x")]),
    "through-link.tar": tar([("l", "l", "/tmp"), ("l/x", "f"), ("m", "l", "../.."), ("m/y", "f")]),
    "hardlink-escape.tar": tar([("h", "h", "../../etc/passwd"), ("d", "d"), ("d/s", "l", "/"),
                                ("d/s/z", "h", "h")]),
    "devices.tar": tar([("dev", "d"), ("dev/null", "c", (1, 3)), ("dev/sda", "b", (8, 0)),
                        ("dev/wh", "c", (0, 0)), ("fifo", "p"), ("", "c", (0, 0))]),
    "whiteout-first.tar": tar([("a", "d"), ("a/.wh.b", "f"), ("a/.wh..wh..opq", "f"),
                               (".wh..", "f"), (".wh.", "f"), ("a/.wh..wh.plnk", "f")]),
    "replace.tar": tar([("x", "d"), ("x/y", "f"), ("x", "f"), ("x", "d"), ("x", "l", "/"),
                        ("x/z", "f"), ("y", "f"), ("y", "h", "x")]),
    "root-entry.tar": tar([(".", "d", None, {"mode": 0}), ("./", "d", None, {"mode": 0o700}),
                           ("./a", "d", None, {"mode": 0})]),
    "modes.tar": tar([("d", "d", None, {"mode": 0o000}), ("d/f", "f", b"x", {"mode": 0o000}),
                      ("t", "f", b"t", {"mtime": 2 ** 33}), ("n", "f", b"", {"mtime": -1})]),
    "empty.tar": b"\0" * 1024,
    "truncated.tar.gz": gzip.compress(tar(TREE))[:200],
}
gnu = os.path.join(OUT, ".sparse")
os.makedirs(gnu, exist_ok=True)
with open(os.path.join(gnu, "sparse"), "wb") as f:
    f.seek(1 << 20)
    f.write(b"end")
layer["sparse.tar"] = subprocess.run(["tar", "-C", gnu, "--sparse", "--format=gnu", "-cf", "-", "sparse"],
                                     stdout=subprocess.PIPE, check=True).stdout
layer["sparse-pax.tar"] = subprocess.run(["tar", "-C", gnu, "--sparse", "--format=pax", "-cf", "-", "sparse"],
                                         stdout=subprocess.PIPE, check=True).stdout
os.unlink(os.path.join(gnu, "sparse"))
os.rmdir(gnu)
for k, v in layer.items():
    write("layer", k, v)

# ---- whiteout: layers over fuzz/whiteout.c's base tree ----
SEP = b"\n--nroot-layer--\n"
wh = {
    "file.tar": tar([("etc/.wh.passwd", "f")]),
    "dir.tar": tar([("a/.wh.b", "f")]),
    "opaque.tar": tar([("etc/opq", "d"), ("etc/opq/.wh..wh..opq", "f"), ("etc/opq/new", "f")]),
    "opaque-first.tar": tar([("etc/opq/.wh..wh..opq", "f"), ("etc/opq/sub", "d"), ("etc/opq/sub/z", "f")]),
    "chardev.tar": tar([("f", "c", (0, 0)), ("a/b", "c", (0, 0)), ("usr/bin/ls", "c", (0, 0))]),
    "usrmerge.tar": tar([("bin/new", "f"), ("bin/.wh.sh", "f"), ("lib/x.so", "f"),
                         ("bin/busybox", "h", "usr/bin/ash")]),
    "through-lower-link.tar": tar([("home/u/etc/shadow", "f"), ("var/ab/.wh.e", "f"),
                                   ("var/ab/c/.wh..wh..opq", "f")]),
    "replace.tar": tar([("a/b", "f"), ("f", "d"), ("f/g", "f"), ("bin", "d"), ("bin/x", "f"),
                        ("etc", "l", "usr"), ("dangling", "f")]),
    "bad-whiteouts.tar": tar([("a/.wh..", "f"), ("a/.wh...", "f"), ("a/.wh.", "f"),
                              (".wh..wh..opq", "f"), ("", "c", (0, 0))]),
    "same-layer.tar": tar([("new", "d"), ("new/a", "f"), ("new/.wh.a", "f"), ("x", "f"),
                           ("x", "c", (0, 0)), ("y", "l", "/etc"), ("y/.wh.passwd", "f")]),
    "own-link.tar": tar([("l", "l", "/a"), ("l/b/.wh.e", "f"), ("m", "l", "etc"), ("m", "d")]),
    "gzip.tar.gz": gzip.compress(tar([("etc/.wh.passwd", "f"), ("etc/group", "f")])),
    "two-layers": tar([("x", "d"), ("x/y", "f"), ("l", "l", "x")]) + SEP + tar([("x/.wh.y", "f"),
                  ("l/z", "f"), ("x/.wh..wh..opq", "f")]),
    "three-layers": tar([("etc/.wh.opq", "f")]) + SEP + tar([("etc/opq", "d"), ("etc/opq/q", "f")]) +
                    SEP + tar([("etc/opq/.wh..wh..opq", "f"), ("etc", "c", (0, 0))]),
    "link-then-through": tar([("p", "l", "/usr")]) + SEP + tar([("p/bin/.wh.ls", "f"), ("p/y", "f"),
                         ("p/bin/h", "h", "p/bin/sh")]),
}
for k, v in wh.items():
    write("whiteout", k, v)

# ---- json: manifest.json, index.json, manifests, configs ----
H = "a" * 64
D = "sha256:" + "b" * 64
js = {
    "docker-manifest.json": [{"Config": H + ".json", "RepoTags": ["busybox:latest", "x/y:1"],
                              "Layers": [H + "/layer.tar", "c" * 64 + ".tar"]}],
    "docker-manifest-multi.json": [{"Config": "a.json", "RepoTags": ["a:1"], "Layers": []},
                                   {"Config": "b.json", "RepoTags": None, "Layers": ["l.tar"]},
                                   {"Config": "c.json", "RepoTags": ["docker.io/library/busybox"],
                                    "Layers": ["m.tar"]}],
    "oci-index.json": {"schemaVersion": 2, "manifests": [{"mediaType":
        "application/vnd.oci.image.manifest.v1+json", "digest": D, "size": 349,
        "annotations": {"org.opencontainers.image.ref.name": "latest"}}]},
    "oci-index-platforms.json": {"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": D, "size": 1,
         "platform": {"os": "linux", "architecture": "amd64"},
         "annotations": {"io.containerd.image.name": "docker.io/library/busybox:latest"}},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha512:" + "c" * 128,
         "size": 2, "platform": {"os": "linux", "architecture": "arm64"}},
        {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": D, "size": 3}]},
    "oci-manifest.json": {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                     "digest": D, "size": 359},
                          "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                      "digest": "sha256:" + "d" * 64, "size": 3061760},
                                     {"digest": "sha512:" + "e" * 128, "size": 0}]},
    "config.json": {"architecture": "amd64", "os": "linux", "config": {
        "Env": ["PATH=/usr/bin:/bin", "A=b\nc", "B=\\n"], "Entrypoint": ["/bin/sh", "-c"],
        "Cmd": "echo hi", "WorkingDir": "/w", "User": "1000:1000"},
        "rootfs": {"type": "layers", "diff_ids": [D, "sha256:" + "f" * 64]}},
    "config-arm.json": {"architecture": "arm64", "os": "linux", "config": {"Env": None, "Cmd": [1]},
                        "rootfs": {"diff_ids": []}},
    "config-bad.json": {"os": "windows", "rootfs": {"diff_ids": ["md5:x", 1]}},
}
for k, v in js.items():
    write("json", k, json.dumps(v).encode())
write("json", "deep.json", b"[" * 70 + b"]" * 70)
write("json", "strings.json", b'{"a":"\\u0000\\"[{\\\\","b":[1.5e308,-0,true,null,{}]}')
write("json", "busybox-config.json", json.dumps(
    {"config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]}, "rootfs": {"type": "layers",
     "diff_ids": ["sha256:" + "0" * 64]}, "architecture": "amd64", "os": "linux"}).encode())

# ---- kv: the store's and runtime directory's key=value files ----
FSEP = b"\n--nroot-file--\n"
ctr_config = (b"id=0123456789ab\nname=c1\nimage=busybox\nimage_key=" + b"0" * 63 + b"1\n"
              b"overlay=kernel\ncreated=1700000000\ntty=0\ninteractive=1\ncmd=sh\ncmd=-c\n"
              b"cmd=echo a\\nb\\\\\narg=--name\narg=c1\narg=busybox\n")
state = b"status=exited\nstarted=1700000001\nfinished=1700000002\nexit_code=3\n"
live = (b"id=0123456789ab\nname=c1\npid=1\npid_start=1\ninit_pid=2\ninit_start=2\nstarted=1\n"
        b"detached=1\nns_user=5\nns_mnt=6\nns_pid=7\nns_bogus=8\n")
unnamed = b"id=fedcba987654\nname=\nimage=/rootfs\nimage_key=/rootfs\ncreated=-5\n"
info = (b"source=/images/busybox.tar\nformat=docker-archive\nchain=" + b"c" * 64 +
        b"\nref=busybox:latest\nsize=123\ncreated=1700000000\nidmap=0123456789abcdef\nrung=subids\n")
sources = b"0123456789abcdef-0123456789abcdef /images/busybox.tar\nx /y\nnospace\n\n"
img_config = (b"format=docker-archive\nref=busybox:latest\ntag=busybox:latest\nenv=PATH=/bin\n"
              b"env=A=1\\n2\nentrypoint=/bin/sh\ncmd=-c\ncmd=true\nworkdir=/w\nuser=0:0\n")
# format 1: the options as data (src/state/ctr.c)
ctr_config_v1 = (b"version=1\nid=0123456789ab\nname=c1\nimage=busybox\nimage_key=" + b"0" * 63 +
                 b"1\ncreated=1700000000\ntty=1\ninteractive=0\ncmd=sh\nentrypoint=\n"
                 b"argument=sh\nargument=\nenv=A=1\\n2\nworkdir=/w\nuser=1000:1000\nuserns=keep-id\n"
                 b"net=slirp\nhost_loopback=1\noverlay=fuse\nread_only=0\ncaps=0x00000000800405fb\n"
                 b"seccomp=/p.json\nhostname=box\nimage_ref=busybox:1\nrm=1\n"
                 b"volume.0.src=/h\nvolume.0.dst=/c\nvolume.0.ro=1\nvolume.1.src=/a\nvolume.1.dst=/b\n"
                 b"port.0.spec=[::1]:80:8080/udp\nport.0.proto=udp\nport.0.host_ip=::1\n"
                 b"port.0.host_port=80\nport.0.port=8080\nport.1.spec=1:2\nport.1.host_ip=10.0.0.1\n"
                 b"port.1.host_port=1\nport.1.port=2\n")
kv = {
    "all": FSEP.join([ctr_config, state, live, unnamed, info, sources, img_config]),
    "config-v1": ctr_config_v1 + FSEP + state,
    "config-v1-damaged": (ctr_config_v1 + b"version=2\nvolume.9999.src=/x\nport.3.port=0\n"
                          b"caps=0xfffffffffffffffff\nnet=bogus\n") + FSEP + state,
    "container": ctr_config + FSEP + state,
    "damaged": FSEP.join([b"id=../../victim\nname=../x\nimage_key=../../etc\ncreated=99999999999999999999\n",
                          b"exit_code=-2147483649\nstarted=x", b"pid=-1\npid_start=18446744073709551616",
                          b"id=\nname=" + b"n" * 300, b"source=\nref=\nsize=-1", b" \n \n",
                          b"user=\nworkdir=\nenv\n=\n\\"]),
    "escapes": b"a=\\\\n\\n\\\\\\\nb=\\x\n=novalue\nnokey\n\n\n" + b"k=" + b"\\" * 40,
    # user networks (src/state/network.c), parts 7 and 8: a container on web
    # (part N1's net=) and the holder's hosts file
    "network": FSEP.join([ctr_config_v1 + b"net=web\nnetwork_alias=db\n", state, b"", b"", b"", b"",
                          b"", b"version=1\nname=web\nsubnet=10.89.1.0/24\ninternal=0\ncreated=1\n",
                          b"10.89.1.10 c1 0123456789ab db\n10.89.1.11 x fedcba987654\nbad line\n"]),
    "network-damaged": FSEP.join([b"", b"", b"", b"", b"", b"", b"",
                                  b"version=9\nname=../x\nsubnet=10.89.1.7/33\ninternal=2\n"
                                  b"created=-1\nversion=\n", b"999.1.1.1 0123456789ab\n\t\n"]),
}
for k, v in kv.items():
    write("kv", k, v)
print("seeds written to", OUT)
