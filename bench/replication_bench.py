#!/usr/bin/env python3
"""mirrorfs replication vs an rsync daemon, side by side on the same data:
bytes on the wire (both directions) and wall time per workload, and the
replication lag of a small file.

  bench/replication_bench.py [--size-mib 1024] [--runs 1]
                             [--workloads scattered insert ...]
                             [--mirrorfs build/mirrorfs] [--lag-files 50]

Needs root (mount), /dev/fuse and rsync. For each workload of the shared
workloads.py (scattered, insert, append, unrelated, textedit, tree), old and
new are generated once, then each run measures, in this order:

  mirrorfs   BACKING holds old; `mirrorfs serve` on 127.0.0.1 with its root
             already synced (an untimed `replicate --once`); the change is
             made THROUGH THE MOUNT as an application makes it (scattered:
             the changed byte ranges, found by comparing old and new in
             4 KiB blocks, pwritten in place; append: the tail appended;
             insert, unrelated: the file rewritten with O_TRUNC; textedit:
             save-by-rename, a temporary beside it renamed over it; tree:
             its apply.py run inside the mount); then `replicate --once`
             is timed.
  rsync      an rsync daemon on 127.0.0.1 whose module holds old;
             `rsync -a --delete --no-whole-file SRC/ rsync://.../` from a
             directory holding new (for tree: a copy of old with apply.py
             run natively), timed; the module is reset to old afterwards.
  rsync -z   the same with -z.

Bytes on the wire: every client connects through a counting TCP relay in
this script (127.0.0.1, one thread per direction) that adds up the TCP
payload it forwards in both directions, so both tools are counted the same
way (mirrorfs's bytes include TLS records). mirrorfs's own counters
(`status --json`: bytes_sent, bytes_saved) are printed beside them.
Each replica is compared with its source after every run (names, types,
content); a difference aborts with MISMATCH.

Caches: by default nothing is dropped; before every timed step both the
source and the replica side are read into the page cache (the VM's
reclaimer evicts cold pages) after a sync(). With --drop-caches, sync and
`echo 3 > /proc/sys/vm/drop_caches` before every timed step instead, for
all three columns alike (the machine is shared: use it only when alone).

Lag: with a continuous `mirrorfs replicate` running, --lag-files small
files are written and closed on the mount one after another; for each the
time from open() to the mirror holding it with the right content (polled
every 2 ms). Median and p90.

Only the standard library is used.
"""
import argparse
import filecmp
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rdiff_compare import (DEFAULT_WORKLOADS, MIB, BenchError, align,  # noqa: E402
                           find_mirrorfs, fs_type, warm, workdir_with_room)

FILE_WORKLOADS = ["scattered", "insert", "append", "unrelated", "textedit"]
WORKLOADS = FILE_WORKLOADS + ["tree"]
TOOLS = ["mirrorfs", "rsync", "rsync -z"]
BLOCK = 4096
MODULE = "bench"


# --- the counting relay ------------------------------------------------------

class Relay:
    """Listens on 127.0.0.1 and forwards each connection to target_port,
    counting the payload bytes it forwards in both directions."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.lock = threading.Lock()
        self.bytes = 0    # guarded by lock
        self.active = 0   # connections not yet closed, guarded by lock
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return  # closed
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = {"open": 2}
            with self.lock:
                self.active += 1
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b, conn),
                                 daemon=True).start()

    def _pump(self, src, dst, conn):
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        try:
            while True:
                n = src.recv_into(buf)
                if not n:
                    break
                dst.sendall(view[:n])
                with self.lock:
                    self.bytes += n
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        with self.lock:
            conn["open"] -= 1
            if conn["open"] == 0:
                self.active -= 1
                src.close()
                dst.close()

    def take(self, timeout=5.0):
        """Waits (up to timeout) for every connection to close; returns the
        bytes counted since the last take() and resets the count."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.active == 0:
                    break
            time.sleep(0.01)
        with self.lock:
            n, self.bytes = self.bytes, 0
        return n

    def close(self):
        self.sock.close()


# --- helpers ---------------------------------------------------------------

def sh(cmd, **kw):
    """Runs cmd; raises BenchError with its output if it fails."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, **kw)
    if p.returncode != 0:
        raise BenchError(f"{' '.join(map(str, cmd))} exited {p.returncode}:\n"
                         f"{p.stdout.decode(errors='replace')[-2000:]}")
    return p.stdout.decode(errors="replace")


def timed(cmd, log):
    """Runs cmd with its output in log; returns wall-clock seconds."""
    with open(log, "ab") as f:
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdout=f, stderr=f, stdin=subprocess.DEVNULL)
        seconds = time.perf_counter() - t0
    if p.returncode != 0:
        with open(log, "rb") as f:
            tail = f.read()[-2000:].decode(errors="replace")
        raise BenchError(f"{' '.join(cmd)} exited {p.returncode}:\n{tail}")
    return seconds


def copy_tree(src, dst):
    """cp -a: contents of src into dst (created), times and modes kept."""
    os.makedirs(dst, exist_ok=True)
    sh(["cp", "-a", "--reflink=auto", src + "/.", dst])


def files_under(top):
    for d, _, names in os.walk(top):
        for n in names:
            p = os.path.join(d, n)
            if not os.path.islink(p):
                yield p


def prepare_caches(dirs, drop):
    """The same for every column before a timed step: sync, then either
    drop all clean pages or read the given trees into the page cache."""
    os.sync()
    if drop:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    else:
        for d in dirs:
            warm(*files_under(d))


def check_trees(src, dst, what):
    """Same names, types, symlink targets and content; else MISMATCH."""
    def listing(top):
        out = {}
        for d, dirs, names in os.walk(top):
            for n in dirs + names:
                p = os.path.join(d, n)
                rel = os.path.relpath(p, top)
                if os.path.islink(p):
                    out[rel] = ("l", os.readlink(p))
                elif os.path.isdir(p):
                    out[rel] = ("d",)
                else:
                    out[rel] = ("f", os.path.getsize(p))
        return out
    a, b = listing(src), listing(dst)
    if a != b:
        diff = sorted(set(a.items()) ^ set(b.items()))[:5]
        raise BenchError(f"MISMATCH: {what}: {dst} differs from {src}: {diff}")
    for rel, kind in a.items():
        if kind[0] == "f" and not filecmp.cmp(os.path.join(src, rel),
                                              os.path.join(dst, rel),
                                              shallow=False):
            raise BenchError(f"MISMATCH: {what}: content of {rel}")


def changed_ranges(old, new):
    """The byte ranges where new differs from old (same length), found in
    4 KiB blocks; runs of changed blocks are merged and trimmed to their
    first and last differing byte. Returns [(offset, length)]."""
    ranges = []
    chunk = 2048 * BLOCK
    with open(old, "rb") as a, open(new, "rb") as b:
        off = 0
        while True:
            x, y = a.read(chunk), b.read(chunk)
            if not y:
                break
            if x != y:
                for i in range(0, len(y), BLOCK):
                    p, q = x[i:i + BLOCK], y[i:i + BLOCK]
                    if p == q:
                        continue
                    first = next(k for k in range(len(q)) if p[k:k + 1] != q[k:k + 1])
                    last = max(k for k in range(len(q)) if p[k:k + 1] != q[k:k + 1])
                    start, end = off + i + first, off + i + last + 1
                    if ranges and ranges[-1][1] >= off + i:  # touches the previous run
                        ranges[-1][1] = end
                    else:
                        ranges.append([start, end])
            off += len(y)
    return [(s, e - s) for s, e in ranges]


def copy_stream(src, fd):
    with open(src, "rb") as f:
        while True:
            buf = f.read(8 * MIB)
            if not buf:
                break
            os.write(fd, buf)


# --- the workloads -----------------------------------------------------------

class Workload:
    """Generated data of one workload in gen/: old and new files (file
    workloads, replicated as `NAME.dat`) or old/ and apply.py (tree)."""

    def __init__(self, name, gen, args):
        self.name, self.gen = name, gen
        sh([sys.executable, args.workloads_py, "make", name, gen,
            "--size-mib", str(args.size_mib), "--seed", str(args.seed)])
        self.old_dir = os.path.join(gen, "olddir")
        if name == "tree":
            os.rename(os.path.join(gen, "old"), self.old_dir)
            self.apply = os.path.join(gen, "apply.py")
            return
        self.fname = f"{name}.dat"
        self.old = os.path.join(gen, "old")
        self.new = os.path.join(gen, "new")
        os.makedirs(self.old_dir)
        os.link(self.old, os.path.join(self.old_dir, self.fname))
        if name == "scattered":
            self.ranges = changed_ranges(self.old, self.new)

    def seed(self, dst):
        """dst (created) holds old, times and modes as generated."""
        copy_tree(self.old_dir, dst)

    def make_new_natively(self, dst):
        """dst (created) holds the new state, with a changed mtime."""
        if self.name == "tree":
            self.seed(dst)
            sh([sys.executable, self.apply], cwd=dst)
            return
        os.makedirs(dst, exist_ok=True)
        path = os.path.join(dst, self.fname)
        shutil.copyfile(self.new, path)
        os.utime(path)  # now, whatever the same-second generation did

    def apply_through(self, mnt):
        """Makes the change inside mnt the way an application would."""
        if self.name == "tree":
            sh([sys.executable, self.apply], cwd=mnt)
            return
        path = os.path.join(mnt, self.fname)
        if self.name == "scattered":
            fd = os.open(path, os.O_WRONLY)
            with open(self.new, "rb") as f:
                for off, n in self.ranges:
                    f.seek(off)
                    os.pwrite(fd, f.read(n), off)
            os.close(fd)
        elif self.name == "append":
            old_size = os.path.getsize(self.old)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            with open(self.new, "rb") as f:
                f.seek(old_size)
                while buf := f.read(8 * MIB):
                    os.write(fd, buf)
            os.close(fd)
        elif self.name in ("insert", "unrelated"):
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
            copy_stream(self.new, fd)
            os.close(fd)
        elif self.name == "textedit":  # save-by-rename, as editors do
            tmp = os.path.join(mnt, f".{self.fname}.swp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            copy_stream(self.new, fd)
            os.fsync(fd)
            os.close(fd)
            os.rename(tmp, path)
        else:
            raise BenchError(f"unknown workload {self.name}")


# --- mirrorfs ----------------------------------------------------------------

class Mirrorfs:
    """One source and one mirror on 127.0.0.1 under base/: BACKING, MNT,
    the mount's state, the mirror root and its state; serve behind a
    Relay. Keys are made once per instance."""

    def __init__(self, exe, base):
        self.exe, self.base = exe, base
        self.backing, self.mnt, self.state, self.root, self.mstate = (
            os.path.join(base, d)
            for d in ("backing", "mnt", "state", "mirror", "mirror-state"))
        for d in (self.backing, self.mnt, self.state, self.root, self.mstate):
            os.makedirs(d)
        self.log = os.path.join(base, "log")
        self.ckey = sh([exe, "keygen", "--state", self.state]).split()[-1]
        self.mkey = sh([exe, "keygen", "--state", self.mstate]).split()[-1]
        self.serve = self.relay = self.cont = None

    def start(self):
        """serve, the relay in front of it, and the mount."""
        serve_log = os.path.join(self.base, "serve.log")
        with open(serve_log, "wb") as log:
            self.serve = subprocess.Popen(
                [self.exe, "serve", self.root, "--listen", "127.0.0.1:0",
                 "--state", self.mstate, "--allow", self.ckey],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        port = None
        for _ in range(200):
            with open(serve_log, errors="replace") as f:
                for line in f:
                    tail = line.strip().rsplit(" on 127.0.0.1:", 1)
                    if len(tail) == 2 and tail[1].isdigit():
                        port = int(tail[1])
            if port or self.serve.poll() is not None:
                break
            time.sleep(0.05)
        if not port:
            raise BenchError(f"serve did not start, see {serve_log}")
        self.relay = Relay(port)
        sh([self.exe, "mount", self.backing, self.mnt, "--state", self.state])
        if not os.path.ismount(self.mnt):
            raise BenchError(f"{self.mnt} is not mounted")

    def replicate_args(self):
        return [self.exe, "replicate", "--state", self.state,
                "--mirror", f"{MODULE}=127.0.0.1:{self.relay.port}",
                "--pin", f"{MODULE}={self.mkey}"]

    def replicate_once(self):
        return timed(self.replicate_args() + ["--once"], self.log)

    def status(self):
        """(bytes_sent, bytes_saved) summed over every mirror in
        `status --json`."""
        doc = json.loads(sh([self.exe, "status", "--state", self.state,
                             "--json"]))
        sums = {"bytes_sent": 0, "bytes_saved": 0}

        def walk(v):
            if isinstance(v, dict):
                for k, x in v.items():
                    if k in sums and isinstance(x, int):
                        sums[k] += x
                    else:
                        walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        walk(doc)
        return sums["bytes_sent"], sums["bytes_saved"]

    def stop(self):
        if self.cont:
            self.cont.terminate()
            self.cont.wait()
        if os.path.ismount(self.mnt):
            for _ in range(50):
                if subprocess.run(["fusermount3", "-u", self.mnt]).returncode == 0:
                    break
                time.sleep(0.2)
            else:
                subprocess.run(["umount", "-l", self.mnt])
        if self.serve:
            self.serve.terminate()
            try:
                self.serve.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.serve.kill()
                self.serve.wait()
        if self.relay:
            self.relay.close()


def run_mirrorfs(w, args, work):
    """One timed mirrorfs replication of w: (seconds, wire bytes,
    status bytes_sent, status bytes_saved)."""
    base = os.path.join(work, "mirrorfs")
    m = Mirrorfs(args.mirrorfs, base)
    try:
        w.seed(m.backing)
        m.start()
        m.replicate_once()  # the mirror holds old
        w.apply_through(m.mnt)
        prepare_caches([m.backing, m.root], args.drop_caches)
        sent0, saved0 = m.status()
        m.relay.take()
        seconds = m.replicate_once()
        wire = m.relay.take()
        sent1, saved1 = m.status()
        check_trees(m.backing, m.root, f"mirrorfs {w.name}")
        if w.name != "tree":
            if not filecmp.cmp(w.new, os.path.join(m.backing, w.fname),
                               shallow=False):
                raise BenchError(f"MISMATCH: the change through the mount "
                                 f"did not make new ({w.name})")
        return seconds, wire, sent1 - sent0, saved1 - saved0
    finally:
        m.stop()
        shutil.rmtree(base, ignore_errors=True)


# --- rsync -------------------------------------------------------------------

class RsyncDaemon:
    """`rsync --daemon` on 127.0.0.1 with one module on base/dst, behind a
    Relay; for the life of the benchmark."""

    def __init__(self, base):
        self.base = base
        self.dst = os.path.join(base, "dst")
        os.makedirs(self.dst)
        conf = os.path.join(base, "rsyncd.conf")
        with open(conf, "w") as f:
            f.write(f"pid file = {base}/rsyncd.pid\nuse chroot = no\n"
                    f"[{MODULE}]\n  path = {self.dst}\n  read only = no\n"
                    "  uid = root\n  gid = root\n")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            ["rsync", "--daemon", "--no-detach", f"--config={conf}",
             "--address=127.0.0.1", f"--port={port}",
             f"--log-file={base}/rsyncd.log"], stdin=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                if self.proc.poll() is not None:
                    raise BenchError(f"rsync --daemon exited, see {base}/rsyncd.log")
                time.sleep(0.05)
        self.relay = Relay(port)
        self.url = f"rsync://127.0.0.1:{self.relay.port}/{MODULE}/"

    def stop(self):
        self.relay.close()
        self.proc.terminate()
        self.proc.wait()


def run_rsync(w, args, work, daemon, z):
    """One timed rsync of w to the daemon: (seconds, wire bytes)."""
    src = os.path.join(work, "rsync-src")
    shutil.rmtree(daemon.dst)
    w.seed(daemon.dst)
    w.make_new_natively(src)
    try:
        prepare_caches([src, daemon.dst], args.drop_caches)
        daemon.relay.take()
        cmd = ["rsync", "-a", "--delete", "--no-whole-file"] + (["-z"] if z else [])
        seconds = timed(cmd + [src + "/", daemon.url],
                        os.path.join(work, "rsync.log"))
        wire = daemon.relay.take()
        check_trees(src, daemon.dst, f"rsync {w.name}")
        return seconds, wire
    finally:
        shutil.rmtree(src, ignore_errors=True)


# --- lag -----------------------------------------------------------------------

def measure_lag(args, work):
    """Seconds from open() of a small file on the mount to its content on
    the mirror, with a continuous replicate running; one per file."""
    base = os.path.join(work, "lag")
    m = Mirrorfs(args.mirrorfs, base)
    lags = []
    try:
        m.start()
        os.mkdir(os.path.join(m.mnt, "lag"))
        m.replicate_once()
        with open(m.log, "ab") as log:
            m.cont = subprocess.Popen(m.replicate_args(), stdout=log,
                                      stderr=log, stdin=subprocess.DEVNULL)
        time.sleep(1.0)
        for i in range(args.lag_files):
            body = os.urandom(1000) + f"file {i}\n".encode()
            rel = os.path.join("lag", f"f{i:04d}")
            target = os.path.join(m.root, rel)
            t0 = time.perf_counter()
            with open(os.path.join(m.mnt, rel), "wb") as f:
                f.write(body)
            while True:
                try:
                    with open(target, "rb") as f:
                        if f.read() == body:
                            break
                except FileNotFoundError:
                    pass
                if time.perf_counter() - t0 > 60:
                    raise BenchError(f"lag: {rel} not on the mirror after 60 s")
                if m.cont.poll() is not None:
                    raise BenchError(f"lag: replicate exited, see {m.log}")
                time.sleep(0.002)
            lags.append(time.perf_counter() - t0)
            time.sleep(0.05)
        return lags
    finally:
        m.stop()
        shutil.rmtree(base, ignore_errors=True)


# --- report ------------------------------------------------------------------

def mb(n):
    return f"{n / 1e6:.3f}" if n < 1e7 else f"{n / 1e6:.1f}"


def ratio(a, b):
    return f"{a / b:.2f}" if b else "-"


def report(results, args):
    head = ("workload", "MB mfs", "MB rsync", "MB rsync-z", "rsync/mfs",
            "rsync-z/mfs", "s mfs", "s rsync", "s rsync-z", "rsync/mfs",
            "rsync-z/mfs", "status sent MB", "status saved MB", "targets")
    lines = []
    for name, r in results.items():
        med = {t: (statistics.median(r[t]["s"]), statistics.median(r[t]["b"]))
               for t in TOOLS}
        (sm, bm), (sr, br), (sz, bz) = (med[t] for t in TOOLS)
        notes = []
        notes.append("bytes " + ("met" if bm < min(br, bz) else "MISSED"))
        want = {"scattered": 20.0, "tree": 2.0}.get(name)
        if want:
            notes.append(f"time >= {want:.0f}x " +
                         ("met" if sr / sm >= want else "MISSED"))
        lines.append((name, mb(bm), mb(br), mb(bz), ratio(br, bm), ratio(bz, bm),
                      f"{sm:.2f}", f"{sr:.2f}", f"{sz:.2f}", ratio(sr, sm),
                      ratio(sz, sm),
                      mb(statistics.median(r["mirrorfs"]["sent"])),
                      mb(statistics.median(r["mirrorfs"]["saved"])),
                      ", ".join(notes)))
    return align(head, lines, (0, len(head) - 1))


def parse_args():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workloads-py", default=DEFAULT_WORKLOADS,
                   help=f"the shared workloads.py (default {DEFAULT_WORKLOADS})")
    p.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=WORKLOADS,
                   metavar="NAME", help=f"any of {' '.join(WORKLOADS)} (default all)")
    p.add_argument("--mirrorfs", help="the executable (default build/mirrorfs)")
    p.add_argument("--size-mib", type=int, default=1024,
                   help="file size, and the tree's total size (default 1024)")
    p.add_argument("--runs", type=int, default=1, help="runs per workload; "
                   "medians are reported (default 1)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--lag-files", type=int, default=50,
                   help="small files for the lag test, 0 to skip (default 50)")
    p.add_argument("--drop-caches", action="store_true",
                   help="drop all caches before every timed step instead of "
                   "warming the data (shared machine: only when alone)")
    p.add_argument("--workdir", help="where the data goes (default: a temp "
                   "dir on the repository's disk, never tmpfs)")
    a = p.parse_args()
    if not os.path.isfile(a.workloads_py):
        sys.exit(f"replication_bench: workloads script not found: "
                 f"{a.workloads_py}\n(expected the shared "
                 "/work/shared/bench/workloads.py; pass --workloads-py PATH)")
    a.workloads_py = os.path.abspath(a.workloads_py)
    if a.runs < 1 or a.size_mib < 1:
        sys.exit("replication_bench: --runs and --size-mib must be >= 1")
    if os.geteuid() != 0:
        sys.exit("replication_bench: needs root (mount, rsync daemon as root)")
    if not shutil.which("rsync"):
        sys.exit("replication_bench: rsync not found (apt-get install rsync)")
    try:
        a.mirrorfs = find_mirrorfs(a.mirrorfs)
    except BenchError as e:
        sys.exit(f"replication_bench: {e}")
    return a


def main():
    a = parse_args()
    # gen (old + new), BACKING + mirror, rsync's src + module
    work = workdir_with_room(a.workdir, 6 * a.size_mib * MIB + 256 * MIB,
                             "replication_bench")
    rsync_version = sh(["rsync", "--version"]).splitlines()[0]
    print(f"replication_bench: {a.mirrorfs} vs {rsync_version}\n"
          f"  size {a.size_mib} MiB, runs {a.runs} (medians), seed {a.seed}, "
          f"workdir {work} ({fs_type(work)})\n"
          "  bytes: TCP payload both directions through a counting relay in "
          "this script, the same for all columns (mirrorfs's includes TLS)\n"
          "  rsync: -a --delete --no-whole-file [-z] to an rsync daemon on "
          "127.0.0.1; mirrorfs: replicate --once to serve on 127.0.0.1\n"
          "  caches: " + ("sync + drop_caches before every timed step"
                          if a.drop_caches else "not dropped; sync, then source "
                          "and replica read into the page cache before every "
                          "timed step"), flush=True)
    results = {}
    daemon = None
    try:
        daemon = RsyncDaemon(os.path.join(work, "rsyncd"))
        for name in a.workloads:
            gen = os.path.join(work, "gen")
            t0 = time.monotonic()
            w = Workload(name, gen, a)
            print(f"{name}: generated in {time.monotonic() - t0:.0f} s",
                  flush=True)
            r = results[name] = {t: {"s": [], "b": [], "sent": [], "saved": []}
                                 for t in TOOLS}
            for run in range(a.runs):
                s, b, sent, saved = run_mirrorfs(w, a, work)
                r["mirrorfs"]["s"].append(s)
                r["mirrorfs"]["b"].append(b)
                r["mirrorfs"]["sent"].append(sent)
                r["mirrorfs"]["saved"].append(saved)
                for t in TOOLS[1:]:
                    s2, b2 = run_rsync(w, a, work, daemon, z=t.endswith("-z"))
                    r[t]["s"].append(s2)
                    r[t]["b"].append(b2)
                print(f"  run {run + 1}: " + "  ".join(
                    f"{t} {r[t]['s'][-1]:.2f} s {mb(r[t]['b'][-1])} MB"
                    for t in TOOLS) + f"  (status sent {mb(sent)} MB, "
                    f"saved {mb(saved)} MB)", flush=True)
            shutil.rmtree(gen)
        lags = measure_lag(a, work) if a.lag_files else []
    except BenchError as e:
        print(f"\nreplication_bench: ABORTED: {e}", file=sys.stderr)
        return 2
    finally:
        if daemon:
            daemon.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n# mirrorfs vs rsync, {a.size_mib} MiB, median of {a.runs}, "
          f"MB = 10^6 bytes on the wire (both directions), s = wall seconds, "
          f"ratios rsync/mirrorfs (> 1: mirrorfs better), "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    print(report(results, a))
    if lags:
        lags.sort()
        p90 = lags[min(len(lags) - 1, int(0.9 * len(lags)))]
        med = statistics.median(lags)
        print(f"\nlag ({len(lags)} files of ~1 KB, continuous replicate): "
              f"median {med * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms, "
              f"max {lags[-1] * 1000:.0f} ms; target median <= 1 s "
              + ("met" if med <= 1.0 else "MISSED"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
