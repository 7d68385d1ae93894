#!/usr/bin/env python3
"""rdiff vs mirrorfs, side by side: signature, delta and patch throughput,
delta sizes and peak memory on the standard workloads.

  bench/rdiff_compare.py [--size-mib 256] [--repeat 3] [--only scattered ...]
                         [--mirrorfs build/mirrorfs] [--out table.txt]

For each workload, old and new are generated once with the shared
workloads.py. Then each operation is run --repeat times per tool, the tools
alternating, on the same files, each run with its inputs re-read into the
page cache first (the VM's reclaimer evicts cold pages):
  signature   old -> sig           (each tool)
  delta       sig, new -> delta    (each tool with its own signature)
  delta/rsig  mirrorfs delta against rdiff's signature
  patch       old, delta -> out    (each tool with its own delta)
Every patched output is compared with new (cmp); a mismatch aborts loudly.
Once per workload, untimed, the deltas are also applied crosswise (rdiff
patches mirrorfs's delta, mirrorfs patches the rsig delta).
MB/s = input bytes (old for signature, new for delta and patch) / median
wall-clock seconds, with MB = 10^6. Peak RSS of each run comes from GNU
/usr/bin/time -f %M (package "time"; without it, from wait4(), which
overstates small processes by the Python parent's size). Only the
standard library is used.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_WORKLOADS = os.path.normpath(
    os.path.join(REPO, "..", "shared", "bench", "workloads.py"))
WORKLOADS = ["scattered", "insert", "append", "unrelated", "textedit"]
MIB = 1 << 20


class BenchError(Exception):
    pass


def fs_type(path):
    """File system type of the mount holding path, from /proc/mounts."""
    path = os.path.realpath(path)
    best, kind = "", "?"
    try:
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                mnt, typ = parts[1].replace("\\040", " "), parts[2]
                if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) \
                        and len(mnt) >= len(best):
                    best, kind = mnt, typ
    except OSError:
        pass
    return kind


def pick_workdir(arg, prefix="rdiff_compare."):
    """A fresh directory on a real disk: /tmp unless it is tmpfs or on
    another device than the repository, else under <repo>/build."""
    if arg:
        base = arg
    else:
        tmp = tempfile.gettempdir()
        same_disk = os.stat(tmp).st_dev == os.stat(REPO).st_dev
        if fs_type(tmp) in ("tmpfs", "ramfs") or not same_disk:
            base = os.path.join(REPO, "build")
        else:
            base = tmp
    os.makedirs(base, exist_ok=True)
    if fs_type(base) in ("tmpfs", "ramfs"):
        print(f"warning: {base} is {fs_type(base)}: timings will not include "
              "disk writes", file=sys.stderr)
    return tempfile.mkdtemp(prefix=prefix, dir=base)


def workdir_with_room(arg, need, prog):
    """pick_workdir(arg) named after prog; exits with a message naming prog
    if it has less than need bytes free."""
    workdir = pick_workdir(arg, prefix=prog + ".")
    free = shutil.disk_usage(workdir).free
    if free < need:
        shutil.rmtree(workdir)
        sys.exit(f"{prog}: {workdir} has {free // MIB} MiB free, "
                 f"need about {need // MIB} MiB")
    return workdir


def warm(*paths):
    """Reads files into the page cache (and through the CPU once)."""
    buf = bytearray(8 * MIB)
    for p in paths:
        with open(p, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass


def unlink(*paths):
    for p in paths:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


TIME = "/usr/bin/time"  # GNU time (package "time")


def run(cmd, errfile):
    """Runs cmd; returns (seconds, peak RSS in KiB). Raises on failure.

    Peak RSS comes from GNU time when installed: wait4() on our own child
    would count the Python parent's memory too (the kernel keeps the high
    water mark of the pre-exec image, and subprocess may use vfork)."""
    rssfile = errfile + ".rss"
    use_time = os.access(TIME, os.X_OK)
    full = [TIME, "-f", "%M", "-o", rssfile, *cmd] if use_time else cmd
    with open(errfile, "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(full, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        seconds = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        with open(errfile, "rb") as f:
            msg = f.read(2000).decode(errors="replace")
        raise BenchError(f"{' '.join(cmd)} exited {p.returncode}:\n{msg}")
    rss = usage.ru_maxrss
    if use_time:
        with open(rssfile) as f:
            rss = int(f.read().split()[-1])
    return seconds, rss


def same(a, b):
    return subprocess.run(["cmp", "-s", a, b]).returncode == 0


def check_same(out, new, what):
    if not same(out, new):
        raise BenchError(f"MISMATCH: {what}: {out} differs from {new}")


class Tools:
    def __init__(self, rdiff, mirrorfs):
        self.rdiff, self.mirrorfs = rdiff, mirrorfs

    def cmd(self, tool, op, *files):
        exe = self.rdiff if tool == "rdiff" else self.mirrorfs
        return [exe, op, *files]


class Timer:
    """Collects the runs of one (op, tool) pair."""

    def __init__(self):
        self.times, self.rss = [], []

    def add(self, seconds, rss):
        self.times.append(seconds)
        self.rss.append(rss)

    def mbps(self, nbytes):
        return nbytes / 1e6 / statistics.median(self.times)

    def peak_mib(self):
        return max(self.rss) / 1024


def bench_workload(name, a, tools, workdir):
    d = os.path.join(workdir, name)
    os.makedirs(d)
    print(f"== {name}: generating {a.size_mib} MiB ...", flush=True)
    subprocess.run([sys.executable, a.workloads, "make", name, d,
                    "--size-mib", str(a.size_mib), "--seed", str(a.seed)],
                   check=True)
    f = lambda n: os.path.join(d, n)  # noqa: E731
    old, new, err = f("old"), f("new"), f("stderr")
    old_size, new_size = os.path.getsize(old), os.path.getsize(new)

    def timed(jobs, repeat):
        """jobs: {key: (tool, op, inputs, output, files...)}. Alternates."""
        timers = {k: Timer() for k in jobs}
        keys = list(jobs)
        for i in range(repeat):
            order = keys if i % 2 == 0 else keys[::-1]
            for k in order:
                tool, op, inputs, output, args = jobs[k]
                unlink(output)
                warm(*inputs)
                timers[k].add(*run(tools.cmd(tool, op, *args), err))
                if op == "patch":
                    check_same(output, new, f"{name}: {tool} patch")
        return timers

    rows = []
    # signature
    t = timed({
        "rdiff": ("rdiff", "signature", [old], f("sig.r"), [old, f("sig.r")]),
        "mirrorfs": ("mirrorfs", "signature", [old], f("sig.m"),
                     [old, f("sig.m")]),
    }, a.repeat)
    sig_same = same(f("sig.r"), f("sig.m"))
    rows.append(dict(op="signature", r=t["rdiff"], m=t["mirrorfs"],
                     nbytes=old_size,
                     note="sig identical" if sig_same else "sig DIFFERS"))
    # delta, each with its own signature, and mirrorfs with rdiff's
    t = timed({
        "rdiff": ("rdiff", "delta", [f("sig.r"), new], f("delta.r"),
                  [f("sig.r"), new, f("delta.r")]),
        "mirrorfs": ("mirrorfs", "delta", [f("sig.m"), new], f("delta.m"),
                     [f("sig.m"), new, f("delta.m")]),
        "mirrorfs_rsig": ("mirrorfs", "delta", [f("sig.r"), new], f("delta.x"),
                          [f("sig.r"), new, f("delta.x")]),
    }, a.repeat)
    dr, dm, dx = (os.path.getsize(f(n)) for n in ("delta.r", "delta.m",
                                                  "delta.x"))
    rows.append(dict(op="delta", r=t["rdiff"], m=t["mirrorfs"],
                     nbytes=new_size, dsizes=(dr, dm)))
    rows.append(dict(op="delta/rsig", r=t["rdiff"], m=t["mirrorfs_rsig"],
                     nbytes=new_size, dsizes=(dr, dx)))
    # patch, verified after every run
    t = timed({
        "rdiff": ("rdiff", "patch", [old, f("delta.r")], f("out.r"),
                  [old, f("delta.r"), f("out.r")]),
        "mirrorfs": ("mirrorfs", "patch", [old, f("delta.m")], f("out.m"),
                     [old, f("delta.m"), f("out.m")]),
    }, a.repeat)
    rows.append(dict(op="patch", r=t["rdiff"], m=t["mirrorfs"],
                     nbytes=new_size))
    # crosswise, untimed: the formats really are interchangeable
    unlink(f("out.r"), f("out.m"))
    run(tools.cmd("rdiff", "patch", old, f("delta.m"), f("out.r")), err)
    check_same(f("out.r"), new, f"{name}: rdiff patch of mirrorfs's delta")
    unlink(f("out.r"))
    run(tools.cmd("mirrorfs", "patch", old, f("delta.x"), f("out.m")), err)
    check_same(f("out.m"), new, f"{name}: mirrorfs patch of delta/rsig")
    shutil.rmtree(d)
    for row in rows:
        row["workload"] = name
    return rows


def fmt_size(n):
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.1f}k"


def table(rows):
    head = ("workload", "op", "rdiff MB/s", "mirrorfs MB/s", "ratio",
            "rdiff delta", "mirrorfs delta", "size ratio", "rdiff RSS MiB",
            "mirrorfs RSS MiB", "note")
    lines = []
    for r in rows:
        rm, mm = r["r"].mbps(r["nbytes"]), r["m"].mbps(r["nbytes"])
        ds = r.get("dsizes")
        lines.append((
            r["workload"], r["op"], f"{rm:.0f}", f"{mm:.0f}", f"{mm / rm:.2f}",
            fmt_size(ds[0]) if ds else "", fmt_size(ds[1]) if ds else "",
            f"{ds[1] / ds[0]:.3f}" if ds and ds[0] else "",
            f"{r['r'].peak_mib():.1f}", f"{r['m'].peak_mib():.1f}",
            r.get("note", "")))
    return align(head, lines, (0, 1, len(head) - 1))


def align(head, lines, text_cols):
    """A plain-text table: columns in text_cols left-aligned, the rest
    (numbers) right-aligned. Shared with replication_bench.py."""
    widths = [max(len(h), *(len(l[i]) for l in lines)) if lines else len(h)
              for i, h in enumerate(head)]
    out = []
    for l in [head] + lines:
        out.append("  ".join(c.ljust(w) if i in text_cols else c.rjust(w)
                             for i, (c, w) in enumerate(zip(l, widths))
                             ).rstrip())
    return "\n".join(out)


def find_mirrorfs(arg):
    if arg:
        if not os.access(arg, os.X_OK):
            raise BenchError(f"--mirrorfs {arg}: not an executable")
        return os.path.abspath(arg)
    for cand in ("build/mirrorfs", "build/cli/mirrorfs"):
        p = os.path.join(REPO, cand)
        if os.access(p, os.X_OK):
            return p
    raise BenchError("no build/mirrorfs (or build/cli/mirrorfs): build it "
                     "or pass --mirrorfs PATH")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workloads", default=DEFAULT_WORKLOADS,
                   help=f"workloads.py (default {DEFAULT_WORKLOADS})")
    p.add_argument("--mirrorfs", help="default build/mirrorfs")
    p.add_argument("--rdiff", default="rdiff")
    p.add_argument("--size-mib", type=int, default=256)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workdir", help="where the files go (default: a temp "
                   "dir on the repository's disk, never tmpfs)")
    p.add_argument("--only", nargs="+", choices=WORKLOADS, metavar="NAME")
    p.add_argument("--out", help="also write the table to this file")
    a = p.parse_args()
    if not os.path.isfile(a.workloads):
        sys.exit(f"rdiff_compare: workloads script not found: {a.workloads}\n"
                 "(expected the shared /work/shared/bench/workloads.py; "
                 "pass --workloads PATH)")
    a.workloads = os.path.abspath(a.workloads)
    if a.repeat < 1 or a.size_mib < 1:
        sys.exit("rdiff_compare: --repeat and --size-mib must be >= 1")
    try:
        tools = Tools(shutil.which(a.rdiff) or a.rdiff, find_mirrorfs(a.mirrorfs))
    except BenchError as e:
        sys.exit(f"rdiff_compare: {e}")
    if not shutil.which(tools.rdiff):
        sys.exit(f"rdiff_compare: {a.rdiff} not found (apt-get install rdiff)")

    # old, new, two signatures, three deltas, one patched output at a time
    workdir = workdir_with_room(a.workdir, 4 * a.size_mib * MIB + 64 * MIB,
                                "rdiff_compare")
    names = a.only or WORKLOADS
    print(f"rdiff_compare: {tools.rdiff} vs {tools.mirrorfs}\n"
          f"  size {a.size_mib} MiB, repeat {a.repeat}, seed {a.seed}, "
          f"workdir {workdir} ({fs_type(workdir)})", flush=True)
    rows = []
    try:
        for name in names:
            rows += bench_workload(name, a, tools, workdir)
    except BenchError as e:
        print(f"\nrdiff_compare: ABORTED: {e}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text = (f"# rdiff vs mirrorfs, {a.size_mib} MiB, median of {a.repeat}, "
            f"MB = 10^6 bytes, {time.strftime('%Y-%m-%d %H:%M')}\n"
            + table(rows) + "\n")
    print()
    print(text, end="")
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
