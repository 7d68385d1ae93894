#!/usr/bin/env python3
"""Native vs mirrorfs vs mirrorfs --no-journal vs a naive FUSE passthrough,
side by side in one run, on one disk.

  bench/fs_bench.py [--mirrorfs build/mirrorfs]
                    [--naive build/bench/naive_passthrough]
                    [--columns native mirrorfs nojournal naive]
                    [--workdir DIR] [--repeat 3] [--size-mib 1024]
                    [--files 10000] [--tree-files 100000] [--rand-mib 256]
                    [--only NAME ...] [--keep]

Columns (every FUSE column has its own BACKING, mount point and state dir
under WORKDIR, a fresh directory under /var/tmp by default: a disk, never
tmpfs):
  native     WORKDIR/native, no FUSE
  mirrorfs   `mirrorfs mount BACKING MNT --state STATE -f` (journaling)
  nojournal  the same with --no-journal (records nothing): the journal's
             cost is mirrorfs vs nojournal
  naive      `naive_passthrough BACKING MNT -f`: libfuse's high-level API
             with its defaults, the reference a first FUSE fs reaches
  metrics    (only when asked for) mirrorfs with --metrics 127.0.0.1:0:
             every FUSE op counted and timed; its cost is metrics vs
             mirrorfs

Every repeat mounts the FUSE columns afresh (so `find` sees cold caches on
the mount side), runs each workload on every column (rotating which column
goes first, so drift hits all alike), and unmounts. Workloads:
  find       `find TREE -printf '%s\\n'` over --tree-files files in 100
             directories, made natively in BACKING before mounting
  seqwrite   fio: --size-mib in 1 MiB write()s to a new file + fsync
  seqread    fio: that file in 1 MiB read()s, cold: its pages dropped with
             posix_fadvise(DONTNEED) (fio's invalidate=1 for the file read;
             the backing file's pages too), so the data comes from the disk
  reread     the same with warm caches (an untimed read just before, and
             invalidate=0): the mount's page cache, if it keeps it
  randwrite  fio: --rand-mib of 4 KiB buffered pwrite()s at random offsets
             in that file, then fsync
  create     --files files: open(O_CREAT) + 4 KiB write + close each
             (removed afterwards, untimed)
  untar      `tar -xf` of a tarball of /usr/include (made once, untimed;
             the tree is removed afterwards, untimed)

fio workloads are timed by fio's own job runtime (it includes the final
fsync and excludes fio's ~0.3 s of start-up); the others by wall clock
around the loop or command. Per-file page drops only, never
/proc/sys/vm/drop_caches: the machine is shared.

Output: median seconds per column, then performance relative to native
(native_s / column_s: 1.0 = native speed, higher is better), mirrorfs vs
naive (naive_s / mirrorfs_s: > 1, mirrorfs is faster), and the journal's
cost (mirrorfs_s / nojournal_s - 1, in %). Needs root (mount, umount),
/dev/fuse and fio. Only the standard library is used: the timed loops are
plain os.* calls whose interpreter overhead (about a microsecond) is in
every column and small beside a FUSE round trip.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MIB = 1 << 20
WORKLOADS = ["find", "seqwrite", "seqread", "reread", "randwrite", "create",
             "untar"]
COLUMNS = ["native", "mirrorfs", "nojournal", "naive", "metrics"]
DEFAULT_COLUMNS = COLUMNS[:4]
# Targets (issue): performance relative to native, for the mirrorfs column.
TARGETS = {"seqwrite": 0.6, "seqread": 0.3, "reread": 0.9, "randwrite": 0.5,
           "create": 0.3, "find": 0.5}
NAIVE_TARGET = 1.5      # mirrorfs at least 1.5x the naive passthrough
JOURNAL_TARGET = 5.0    # journaling within 5 % of --no-journal


class BenchError(Exception):
    pass


def drop_pages(path):
    """Drops the cached pages of one file (clean pages only)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


# --- columns and mounts ----------------------------------------------------

def raise_nofile():
    """The naive passthrough, and mirrorfs without file handles (not root),
    hold a descriptor per inode the kernel knows: `find` over 100,000 files
    needs more than a 20,000 hard limit. Where allowed, raise the daemon's
    hard limit to fs.nr_open (the daemon raises its soft limit)."""
    with open("/proc/sys/fs/nr_open") as f:
        nr_open = int(f.read())
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, max(hard, nr_open)))
    except (ValueError, OSError):
        pass  # not root: keep the limits

class Column:
    """One column: the directory the workloads use (`root`), and for FUSE
    columns the BACKING directory under it and the daemon's command."""

    def __init__(self, name, work, args):
        self.name, self.proc = name, None
        base = os.path.join(work, name)
        if name == "native":
            self.root = self.backing = base
            self.cmd = None
            os.makedirs(base, exist_ok=True)
            return
        self.backing = os.path.join(base, "backing")
        self.root = os.path.join(base, "mnt")
        state = os.path.join(base, "state")
        for d in (self.backing, self.root, state):
            os.makedirs(d, exist_ok=True)
        if name == "naive":
            self.cmd = [args.naive, self.backing, self.root, "-f"]
        else:
            self.cmd = [args.mirrorfs, "mount", self.backing, self.root,
                        "--state", state, "-f"]
            if name == "nojournal":
                self.cmd.append("--no-journal")
            if name == "metrics":
                self.cmd += ["--metrics", "127.0.0.1:0"]
        self.log = os.path.join(base, "daemon.log")

    def path(self, *rel):
        return os.path.join(self.root, *rel)

    def backing_path(self, *rel):
        return os.path.join(self.backing, *rel)

    def mount(self, timeout=600.0):
        if not self.cmd:
            return
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=log,
                                         preexec_fn=raise_nofile)
        deadline = time.monotonic() + timeout  # mirrorfs scans BACKING first
        while not os.path.ismount(self.root):
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name}: daemon exited with "
                                 f"{self.proc.returncode}, see {self.log}")
            if time.monotonic() > deadline:
                raise BenchError(f"{self.root} not mounted in {timeout} s")
            time.sleep(0.02)

    def unmount(self):
        if not self.proc:
            return
        proc, self.proc = self.proc, None
        for _ in range(100):
            if subprocess.run(["umount", self.root]).returncode == 0:
                break
            time.sleep(0.1)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            subprocess.run(["umount", "-l", self.root])
            raise BenchError(f"{self.name}: daemon did not exit after umount")
        if proc.returncode != 0:
            raise BenchError(f"{self.name}: daemon exited with "
                             f"{proc.returncode}, see {self.log}")


# --- workloads -------------------------------------------------------------

def fio(path, rw, bs, size, *extra):
    """Runs one fio job on `path`; returns its runtime in seconds."""
    cmd = ["fio", "--name=b", f"--filename={path}", f"--rw={rw}",
           f"--bs={bs}", f"--size={size}", "--ioengine=psync",
           "--fallocate=none", "--output-format=json", *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError(f"fio failed on {path}: {r.stderr.strip()}")
    job = json.loads(r.stdout[r.stdout.index("{"):])["jobs"][0]
    if job["error"]:
        raise BenchError(f"fio error {job['error']} on {path}")
    return job["job_runtime"] / 1000.0


def big(col):
    return col.path("big")


def w_seqwrite(col, run, args):
    if os.path.exists(big(col)):
        os.unlink(big(col))
    return fio(big(col), "write", "1M", f"{args.size_mib}M", "--end_fsync=1")


def w_seqread(col, run, args):
    drop_pages(big(col))
    if col.cmd:
        drop_pages(col.backing_path("big"))
    return fio(big(col), "read", "1M", f"{args.size_mib}M", "--invalidate=1")


def w_reread(col, run, args):
    fio(big(col), "read", "1M", f"{args.size_mib}M", "--invalidate=0")
    return fio(big(col), "read", "1M", f"{args.size_mib}M", "--invalidate=0")


def w_randwrite(col, run, args):
    return fio(big(col), "randwrite", "4k", f"{args.size_mib}M",
               f"--io_size={args.rand_mib}M", "--invalidate=0",
               "--end_fsync=1", f"--randseed={run + 1}")


def w_create(col, run, args):
    d = col.path(f"small{run}")
    os.mkdir(d)
    page = b"x" * 4096
    names = [os.path.join(d, f"f{i:05d}") for i in range(args.files)]
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    t = time.perf_counter()
    for p in names:
        fd = os.open(p, flags, 0o644)
        os.write(fd, page)
        os.close(fd)
    elapsed = time.perf_counter() - t
    # Untimed (a naive daemon holds a descriptor per inode the kernel knows).
    shutil.rmtree(d)
    return elapsed


def w_untar(col, run, args):
    d = col.path(f"tar{run}")
    os.mkdir(d)
    t = time.perf_counter()
    subprocess.run(["tar", "-xf", args.tarball, "-C", d], check=True)
    elapsed = time.perf_counter() - t
    shutil.rmtree(d)  # untimed
    return elapsed


def w_find(col, run, args):
    t = time.perf_counter()
    r = subprocess.run(["find", col.path("tree"), "-printf", "%s\\n"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t
    if r.returncode != 0:  # e.g. EMFILE in the daemon: report, go on
        err = r.stderr.decode(errors="replace").splitlines()
        print(f"{col.name}: find failed ({len(err)} errors), e.g. "
              f"{err[0] if err else '?'}", file=sys.stderr)
        return None
    n = r.stdout.count(b"\n")
    if n < args.tree_files:
        raise BenchError(f"{col.name}: find saw {n} entries")
    if col.proc:  # the daemon's descriptors: bounded however big the tree
        fds = len(os.listdir(f"/proc/{col.proc.pid}/fd"))
        print(f"{col.name}: {fds} daemon descriptors after find over "
              f"{n} entries", file=sys.stderr)
    return elapsed


STEPS = {"find": w_find, "seqwrite": w_seqwrite, "seqread": w_seqread,
         "reread": w_reread, "randwrite": w_randwrite, "create": w_create,
         "untar": w_untar}


def make_tree(top, files):
    """Makes `files` empty files in 100 directories, natively."""
    done = os.path.join(top, ".complete")
    if os.path.exists(done):
        return
    per_dir = -(-files // 100)
    for i in range(files):
        d = os.path.join(top, f"d{i // per_dir:03d}")
        if i % per_dir == 0:
            os.makedirs(d, exist_ok=True)
        os.close(os.open(os.path.join(d, f"f{i:06d}"),
                         os.O_WRONLY | os.O_CREAT, 0o644))
    open(done, "w").close()


# --- driver and report -----------------------------------------------------

def run_all(cols, only, args):
    times = {w: {c.name: [] for c in cols} for w in only}
    for run in range(args.repeat):
        try:
            for c in cols:
                c.mount()
            for w in only:
                k = run % len(cols)
                for c in cols[k:] + cols[:k]:  # rotate who goes first
                    times[w][c.name].append(STEPS[w](c, run, args))
                if w == "find":  # let the daemons forget the tree's inodes
                    for c in cols:
                        c.unmount()
                        c.mount()
        finally:
            for c in cols:
                c.unmount()
        print(f"repeat {run + 1}/{args.repeat} done", file=sys.stderr)
    return times


def fmt_ratio(num, den, fmt="{:.2f}"):
    return fmt.format(num / den) if num and den else "-"


def target_note(w, med):
    m, nj, nv, nat = (med.get(k) for k in ("mirrorfs", "nojournal", "naive",
                                           "native"))
    notes = []
    if w in TARGETS and m is None and "mirrorfs" in med:
        return "MISSED (failed)"
    if w in TARGETS and m and nat:
        ok = nat / m >= TARGETS[w]
        notes.append(f"≥{TARGETS[w]}: {'met' if ok else 'MISSED'}")
    if w in TARGETS and m and nv:
        ok = nv / m >= NAIVE_TARGET
        notes.append(f"≥{NAIVE_TARGET}× naive: {'met' if ok else 'MISSED'}")
    if m and nj:
        ok = (m / nj - 1) * 100 <= JOURNAL_TARGET
        notes.append(f"journal ≤{JOURNAL_TARGET:.0f}%: "
                     f"{'met' if ok else 'MISSED'}")
    return "; ".join(notes)


def report(times, cols, only, args, work):
    names = [c.name for c in cols]
    fuse = [n for n in names if n != "native"]
    failed = "FAILED: the workload failed on that column (see stderr)"
    print(f"# fs_bench: {' '.join(sys.argv)}")
    print(f"# kernel {os.uname().release}; {args.repeat} repeats, median "
          f"seconds; workdir {work}")
    print("# perf vs native = native_s / column_s (1.0 = native speed, "
          "higher is better); mirrorfs/naive = naive_s / mirrorfs_s "
          "(> 1: mirrorfs faster); journal cost = mirrorfs_s / "
          f"nojournal_s - 1; {failed}")
    head = ["workload"] + [f"{n} s" for n in names] + \
        [f"{n} perf" for n in fuse if "native" in names] + \
        ["mirrorfs/naive", "journal cost", "metrics cost", "targets (mirrorfs)"]
    print("| " + " | ".join(head) + " |")
    print("| --- " + "| ---: " * (len(head) - 2) + "| --- |")
    for w in only:
        med = {n: None if None in times[w][n] else
               statistics.median(times[w][n]) for n in names}
        row = [w] + ["FAILED" if med[n] is None else f"{med[n]:.3f}"
                     for n in names]
        if "native" in names:
            row += [fmt_ratio(med["native"], med[n]) for n in fuse]
        row.append(fmt_ratio(med.get("naive"), med.get("mirrorfs")))
        m, nj = med.get("mirrorfs"), med.get("nojournal")
        row.append(f"{(m / nj - 1) * 100:+.1f}%" if m and nj else "-")
        mt = med.get("metrics")
        row.append(f"{(mt / m - 1) * 100:+.1f}%" if m and mt else "-")
        row.append(target_note(w, med))
        print("| " + " | ".join(row) + " |")


def parse_args():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mirrorfs",
                    default=os.path.join(repo, "build", "mirrorfs"))
    ap.add_argument("--naive", default=os.path.join(
        repo, "build", "bench", "naive_passthrough"))
    ap.add_argument("--columns", nargs="+", choices=COLUMNS, default=DEFAULT_COLUMNS,
                    help="columns to measure (default: all four)")
    ap.add_argument("--workdir", help="default: a new dir under /var/tmp")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rand-mib", type=int, default=256,
                    help="bytes written by randwrite, MiB (default 256)")
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--tree-files", type=int, default=100000)
    ap.add_argument("--only", nargs="+", choices=WORKLOADS)
    ap.add_argument("--keep", action="store_true", help="keep WORKDIR")
    return ap.parse_args()


def main():
    args = parse_args()
    only = args.only or WORKLOADS
    # What the later steps read was made by the earlier ones.
    if {"seqread", "reread", "randwrite"} & set(only):
        only = sorted(set(only) | {"seqwrite"}, key=WORKLOADS.index)
    if shutil.which("fio") is None and "seqwrite" in only:
        raise BenchError("fio not found (apt-get install fio)")
    work = args.workdir or tempfile.mkdtemp(prefix="fs_bench_", dir="/var/tmp")
    cols = [Column(n, work, args) for n in COLUMNS if n in args.columns]
    args.tarball = os.path.join(work, "include.tar")
    try:
        if "untar" in only:
            subprocess.run(["tar", "-cf", args.tarball, "-C", "/usr",
                            "include"], check=True)
        if "find" in only:
            for c in cols:
                make_tree(c.backing_path("tree"), args.tree_files)
        times = run_all(cols, only, args)
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    report(times, cols, only, args, work)


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        print(f"fs_bench: {e}", file=sys.stderr)
        sys.exit(1)
