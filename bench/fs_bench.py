#!/usr/bin/env python3
"""Native directory vs a mirrorfs mount, side by side in one run.

  bench/fs_bench.py [--mirrorfs build/mirrorfs] [--workdir DIR] [--repeat 3]
                    [--size-mib 1024] [--files 10000] [--only NAME ...]

Creates WORKDIR/native, WORKDIR/backing, WORKDIR/mnt and WORKDIR/state on
one file system (WORKDIR defaults to a fresh directory under /var/tmp: a
disk, never tmpfs), starts `mirrorfs mount WORKDIR/backing WORKDIR/mnt
--state WORKDIR/state -f` in the background, waits for the mount, runs
every workload --repeat times on WORKDIR/native and on WORKDIR/mnt (the
two alternating, so drift hits both alike), unmounts, and prints the
median seconds of each side and the ratio mirrorfs/native (> 1: mirrorfs
is slower). Needs root only for the mount and for umount.

Workloads (each on a fresh subdirectory, so both sides start alike):
  seqwrite    1 GiB in 1 MiB write()s to a new file, then fsync
  seqread     that file read in 1 MiB read()s, its cached pages dropped
              first with posix_fadvise(DONTNEED) (the mount's pages and
              the backing file's, not the whole machine's page cache):
              "cold" reads come from the disk
  seqread-b   the same with only the mount's pages dropped (the backing
              file stays cached): the cost of going through the daemon;
              natively this equals a cached read
  randwrite   20,000 pwrite()s of 4 KiB at random aligned offsets in that
              file, then close (which journals the extents on mirrorfs)
  create      10,000 files: open(O_CREAT) + 4 KiB write + close each
  stat        stat() of those, after 1.5 s so the mount's 1 s entry and
              attribute caches have expired (each stat asks the daemon)
  unlink      unlink() of those
  untar       `tar -xf` of a tarball of /usr/include (made once, untimed;
              the tree is removed after each run, untimed)

Why Python, not C++: the driver mounts, unmounts, runs tar and keeps the
tables; the timed loops are plain os.* calls, whose interpreter overhead
(about a microsecond per call) is in both columns and small beside a FUSE
round trip (tens of microseconds), so it biases the small-file ratios
slightly towards 1, never away from it. Only the standard library is used.
"""
import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MIB = 1 << 20
WORKLOADS = ["seqwrite", "seqread", "seqread-b", "randwrite", "create",
             "stat", "unlink", "untar"]


class BenchError(Exception):
    pass


def drop_pages(path):
    """Drops the cached pages of one file (clean pages only)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


class Side:
    """One side of the comparison: where its files go, and (for mirrorfs)
    where the same files sit in BACKING."""

    def __init__(self, name, root, backing=None):
        self.name, self.root, self.backing = name, root, backing

    def path(self, *rel):
        return os.path.join(self.root, *rel)

    def backing_path(self, *rel):
        return os.path.join(self.backing, *rel) if self.backing else None


def seqwrite(side, run, args, buf):
    d = side.path(f"seq{run}")
    os.mkdir(d)
    path = os.path.join(d, "big")
    t = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for _ in range(args.size_mib):
        os.write(fd, buf)
    os.fsync(fd)
    os.close(fd)
    elapsed = time.perf_counter() - t
    side.big = path
    side.big_backing = side.backing_path(f"seq{run}", "big")
    return elapsed


def seqread(side, run, args, buf, keep_backing=False):
    drop_pages(side.big)
    if side.big_backing and not keep_backing:
        drop_pages(side.big_backing)
    elif side.big_backing:
        with open(side.big_backing, "rb") as f:  # make sure it is cached
            while f.readinto(buf):
                pass
    t = time.perf_counter()
    fd = os.open(side.big, os.O_RDONLY)
    total = 0
    while True:
        n = os.readv(fd, [buf])
        if n == 0:
            break
        total += n
    os.close(fd)
    elapsed = time.perf_counter() - t
    if total != args.size_mib * MIB:
        raise BenchError(f"{side.name}: read {total} bytes of {side.big}")
    return elapsed


def randwrite(side, run, args, buf):
    rng = random.Random(run)
    blocks = args.size_mib * MIB // 4096
    offsets = [rng.randrange(blocks) * 4096 for _ in range(args.rand_ops)]
    page = bytes(buf[:4096])
    t = time.perf_counter()
    fd = os.open(side.big, os.O_WRONLY)
    for off in offsets:
        os.pwrite(fd, page, off)
    os.close(fd)
    return time.perf_counter() - t


def create(side, run, args, buf):
    d = side.path(f"small{run}")
    os.mkdir(d)
    page = bytes(buf[:4096])
    names = [os.path.join(d, f"f{i:05d}") for i in range(args.files)]
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    t = time.perf_counter()
    for p in names:
        fd = os.open(p, flags, 0o644)
        os.write(fd, page)
        os.close(fd)
    elapsed = time.perf_counter() - t
    side.small = names
    return elapsed


def stat(side, run, args, buf):
    time.sleep(1.5)
    t = time.perf_counter()
    for p in side.small:
        os.stat(p)
    return time.perf_counter() - t


def unlink(side, run, args, buf):
    t = time.perf_counter()
    for p in side.small:
        os.unlink(p)
    return time.perf_counter() - t


def untar(side, run, args, buf):
    d = side.path(f"tar{run}")
    os.mkdir(d)
    t = time.perf_counter()
    subprocess.run(["tar", "-xf", args.tarball, "-C", d], check=True)
    elapsed = time.perf_counter() - t
    # Untimed: the daemon holds a descriptor per inode the kernel knows;
    # trees left behind would pile up towards RLIMIT_NOFILE.
    shutil.rmtree(d)
    return elapsed


STEPS = {
    "seqwrite": seqwrite,
    "seqread": seqread,
    "seqread-b": lambda s, r, a, b: seqread(s, r, a, b, keep_backing=True),
    "randwrite": randwrite,
    "create": create,
    "stat": stat,
    "unlink": unlink,
    "untar": untar,
}


def wait_mounted(mnt, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.ismount(mnt):
            return
        if proc.poll() is not None:
            raise BenchError(f"mirrorfs mount exited with {proc.returncode}")
        time.sleep(0.02)
    raise BenchError(f"{mnt} not mounted within {timeout} s")


def unmount(mnt, proc):
    for _ in range(100):
        if subprocess.run(["umount", mnt]).returncode == 0:
            break
        time.sleep(0.1)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        subprocess.run(["umount", "-l", mnt])
        raise BenchError("the daemon did not exit after umount")
    if proc.returncode != 0:
        raise BenchError(f"the daemon exited with {proc.returncode}")


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mirrorfs",
                    default=os.path.join(repo, "build", "mirrorfs"))
    ap.add_argument("--workdir", help="default: a new dir under /var/tmp")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--rand-ops", type=int, default=20000)
    ap.add_argument("--only", nargs="+", choices=WORKLOADS)
    ap.add_argument("--keep", action="store_true", help="keep WORKDIR")
    args = ap.parse_args()
    only = args.only or WORKLOADS
    # What the later steps read was made by the earlier ones.
    if {"seqread", "seqread-b", "randwrite"} & set(only):
        only = sorted(set(only) | {"seqwrite"}, key=WORKLOADS.index)
    if {"stat", "unlink"} & set(only):
        only = sorted(set(only) | {"create", "unlink"}, key=WORKLOADS.index)

    work = args.workdir or tempfile.mkdtemp(prefix="fs_bench_", dir="/var/tmp")
    os.makedirs(work, exist_ok=True)
    dirs = {k: os.path.join(work, k)
            for k in ("native", "backing", "mnt", "state")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    args.tarball = os.path.join(work, "include.tar")
    if "untar" in only:
        subprocess.run(["tar", "-cf", args.tarball, "-C", "/usr", "include"],
                       check=True)

    log = open(os.path.join(dirs["state"], "mount.log"), "ab")
    proc = subprocess.Popen(
        [args.mirrorfs, "mount", dirs["backing"], dirs["mnt"], "--state",
         dirs["state"], "-f"], stderr=log, stdout=log)
    sides = [Side("native", dirs["native"]),
             Side("mirrorfs", dirs["mnt"], dirs["backing"])]
    times = {w: {s.name: [] for s in sides} for w in only}
    buf = bytearray(os.urandom(MIB))
    try:
        wait_mounted(dirs["mnt"], proc)
        for run in range(args.repeat):
            for w in only:
                # Alternate which side goes first.
                order = sides if run % 2 == 0 else sides[::-1]
                for s in order:
                    times[w][s.name].append(STEPS[w](s, run, args, buf))
            print(f"repeat {run + 1}/{args.repeat} done", file=sys.stderr)
    finally:
        unmount(dirs["mnt"], proc)
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)

    units = {"seqwrite": args.size_mib, "seqread": args.size_mib,
             "seqread-b": args.size_mib}
    print(f"# fs_bench: {' '.join(sys.argv)}")
    print(f"# kernel {os.uname().release}; {args.repeat} repeats, medians; "
          f"workdir {work}")
    print("| workload | native s | mirrorfs s | mirrorfs/native | native | "
          "mirrorfs |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for w in only:
        nat = statistics.median(times[w]["native"])
        mfs = statistics.median(times[w]["mirrorfs"])
        if w in units:
            rate = lambda s: f"{units[w] / s:.0f} MiB/s"
        else:
            count = {"randwrite": args.rand_ops, "untar": None}.get(
                w, args.files)
            rate = (lambda s: f"{count / s:.0f} op/s") if count else \
                (lambda s: "")
        print(f"| {w} | {nat:.3f} | {mfs:.3f} | {mfs / nat:.2f} | "
              f"{rate(nat)} | {rate(mfs)} |")


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        print(f"fs_bench: {e}", file=sys.stderr)
        sys.exit(1)
