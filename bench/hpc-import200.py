# SPDX-License-Identifier: Apache-2.0
# bench/hpc-images: the payload.  Imports 200 modules of Debian 12's
# python3.11 standard library (python3.11-minimal + libpython3.11-stdlib,
# what `mmdebstrap --include=python3` installs), a fixed list, and says how
# many it imported.
import importlib
import sys

MODULES = """
abc argparse ast asyncio base64 bdb bisect bz2 cProfile calendar cmd code
codecs codeop collections colorsys compileall concurrent configparser
contextlib contextvars copy copyreg csv ctypes curses dataclasses datetime
dbm decimal difflib dis doctest email encodings enum filecmp fileinput
fnmatch fractions ftplib functools genericpath getopt getpass gettext glob
graphlib gzip hashlib heapq hmac html http imaplib importlib inspect io
ipaddress json keyword linecache locale logging lzma mailbox mimetypes mmap
modulefinder multiprocessing netrc ntpath nturl2path numbers opcode operator
optparse os pathlib pdb pickle pickletools pkgutil platform plistlib poplib
posixpath pprint profile pstats pty py_compile pyclbr pydoc queue quopri
random re readline reprlib resource rlcompleter runpy sched secrets selectors
shelve shlex shutil signal site smtplib socket socketserver sqlite3 ssl stat
statistics string stringprep struct subprocess symtable sysconfig tabnanny
tarfile tempfile termios textwrap threading timeit token tokenize tomllib
trace traceback tracemalloc tty types typing unittest urllib uuid warnings
wave weakref webbrowser wsgiref xml xmlrpc zipapp zipfile zipimport zoneinfo
array binascii cmath fcntl grp math pwd pyexpat select syslog unicodedata zlib
concurrent.futures.process concurrent.futures.thread ctypes.util curses.ascii
curses.panel curses.textpad dbm.dumb email.feedparser sqlite3.dump
email.headerregistry email.mime.application email.mime.multipart
email.mime.text email.policy html.parser http.client http.cookiejar
http.cookies http.server importlib.metadata importlib.resources json.tool
logging.config logging.handlers multiprocessing.managers multiprocessing.pool
multiprocessing.shared_memory urllib.request urllib.robotparser
wsgiref.simple_server xml.dom.minidom xml.etree.ElementTree xmlrpc.client
xmlrpc.server
""".split()

for name in MODULES:
    importlib.import_module(name)
print(f"imported {len(MODULES)} modules, {len(set(MODULES))} distinct; {len(sys.modules)} in sys.modules")
