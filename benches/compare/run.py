#!/usr/bin/env python3
"""Side-by-side comparison of ebm with TorchEBM: runs each named workload with ours
(`benches/src/bin/workload.rs`) and theirs (`torchebm_workload.py`) interleaved, in the same
time window, and prints a markdown table of the ratios and peak memory.

    python3 benches/compare/run.py                         # everything, 3 rounds x 3 repeats
    python3 benches/compare/run.py --workloads hmc_1k --rounds 2 --repeats 2

Needs only the standard library; the TorchEBM side runs in $VENV (default
$HOME/torchebm-venv, see README.md for how to create it). See README.md for what is measured.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# workload -> (short description, speed target as "ebm faster by at least", shown as)
TARGETS = {
    "langevin_10k": ("Langevin, MLP 2-128-128-1 SiLU, 10,000 chains x {len} steps", 2.0, ">= 2x"),
    "langevin_10": ("Langevin, same MLP, 10 chains x {len} steps", 10.0, ">= 10x"),
    "hmc_1k": ("HMC L=10, eps=0.01, 1,000 chains x {len} proposals", 2.0, ">= 2x"),
    "pcd_two_moons": ("PCD two moons, batch 256, k=10 ({len} iterations)", 2.0, ">= 2x"),
    "conv_grad_b64": ("conv energy grad_x E, 3x32x32, batch 64 ({len} evals)", 1.0, "time <= 1x"),
    # Issue 13: one training iteration of examples/fashion_mnist.toml against plain PyTorch
    # (benches/compare/fmnist_reference.py), not TorchEBM. Not in the default set: run it with
    # --workloads cd_conv_fmnist.
    "cd_conv_fmnist": ("examples/fashion_mnist.toml training iteration, batch 64, k=40 ({len} iterations; PyTorch side: plain PyTorch)", 1.5, ">= 1.5x"),
    # Issue 13 item 6: examples/cifar_ebm.toml's ResNet at batch 64 against torch_igebm.py.
    "cd_resnet_cifar": ("examples/cifar_ebm.toml training iteration, batch 64, k=60 ({len} iterations; PyTorch side: plain PyTorch)", 1.5, ">= 1.5x"),
}

# What runs without --workloads: the TorchEBM target table of issue 7.
DEFAULT_WORKLOADS = ["langevin_10k", "langevin_10", "hmc_1k", "pcd_two_moons", "conv_grad_b64"]

# common.py's MAX_FOREIGN: a repeat during which other processes used more cores is contended.
MAX_FOREIGN = 0.15

VENV_HELP = """\
No TorchEBM venv at {venv}. Create it with (torch from PyPI brings CUDA wheels, several GB;
they are not used on CPU):

    python3 -m venv $HOME/torchebm-venv
    $HOME/torchebm-venv/bin/pip install torch torchebm==0.8.9 numpy

or point VENV=/path/to/venv (or --venv) at an existing one."""


def die(msg):
    print(f"compare: {msg}", file=sys.stderr)
    sys.exit(2)


def build_ours():
    """cargo build --release of the workload binary; returns the executable's path."""
    cmd = [
        "cargo",
        "build",
        "--release",
        "-p",
        "ebm-benches",
        "--bin",
        "workload",
        "--message-format=json-render-diagnostics",
    ]
    print(f"$ {shlex.join(cmd)}", file=sys.stderr, flush=True)
    p = subprocess.run(cmd, check=False, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        die("cargo build failed (see above); pass --bin PATH to use a binary built earlier")
    exe = None
    for line in p.stdout.splitlines():
        try:
            m = json.loads(line)
        except json.JSONDecodeError:
            continue
        if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == "workload":
            exe = m.get("executable") or exe
    if not exe:
        die("cargo did not report the workload executable")
    return exe


def run_one(cmd, env, log_base):
    """Runs cmd with stdout/stderr to log files; returns (JSON of its last line, peak RSS kB
    of the process from wait4, the exit status)."""
    with open(log_base + ".out", "w") as out, open(log_base + ".err", "w") as err:
        p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        with open(log_base + ".err") as f:
            tail = f.read()[-2000:]
        die(f"{shlex.join(cmd)} exited with {p.returncode}:\n{tail}")
    with open(log_base + ".out") as f:
        lines = [ln for ln in f.read().splitlines() if ln.startswith("{")]
    if not lines:
        die(f"{shlex.join(cmd)} printed no JSON line (see {log_base}.out)")
    return json.loads(lines[-1]), ru.ru_maxrss


def git_state():
    """The commit our binary was built from, and whether the tree had uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"
    return f"commit {head}" + (" plus uncommitted changes" if dirty else "")


def fmt(v, unit):
    if unit == "ms/grad":
        return f"{v:.1f} ms"
    return f"{v:.3g} {unit}" if v < 1e3 else f"{v:.2e} {unit}"


def summary(results, header, command, raw_path, warmup=None):
    """The markdown table of `results[workload][side]` (JSON records), pairing the two sides
    round by round; workloads without a complete round are left out."""
    lines = [
        header,
        "",
        f"`{command}`",
        "",
        (
            "| workload | ebm | TorchEBM | speed ratio (>1: ebm faster) | target | peak RSS ebm | peak RSS TorchEBM "
            "| memory ratio (ebm/TorchEBM, target <= 1) |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    notes, n_rounds, n_repeats, contended = [], set(), set(), False
    for w, sides in results.items():
        by_round = {side: {r["round"]: r for r in recs} for side, recs in sides.items()}
        rounds = sorted(set(by_round["ebm"]) & set(by_round["torchebm"]))
        if not rounds:
            continue
        ours = [by_round["ebm"][r] for r in rounds]
        theirs = [by_round["torchebm"][r] for r in rounds]
        n_rounds.add(len(rounds))
        n_repeats.update(len(x["repeats_s"]) for x in ours + theirs)
        lower, unit = ours[0]["lower_is_better"], ours[0]["unit"]
        ratios = [(t["value"] / o["value"]) if lower else (o["value"] / t["value"]) for o, t in zip(ours, theirs)]
        ratio = statistics.median(ratios)
        ov, tv = statistics.median(o["value"] for o in ours), statistics.median(t["value"] for t in theirs)
        orss, trss = max(o["peak_rss_kb_wait4"] for o in ours), max(t["peak_rss_kb_wait4"] for t in theirs)
        desc, target, target_s = TARGETS[w]
        met = "met" if ratio >= target else "not met"
        rng = f" ({min(ratios):.2f}-{max(ratios):.2f})" if len(ratios) > 1 else ""
        if any(x["max_foreign_cores_kept"] > MAX_FOREIGN for x in ours + theirs):
            rng += " †"
            contended = True
        mem_met = "met" if orss <= trss else "not met"
        lines.append(
            f"| `{w}`: {desc.format(len=ours[0]['len'])} | {fmt(ov, unit)} | {fmt(tv, unit)} | **{ratio:.2f}x**{rng} "
            f"| {target_s} ({met}) | {orss / 1024:.0f} MiB | {trss / 1024:.0f} MiB | {orss / trss:.2f} ({mem_met}) |"
        )
        for side, recs in (("ebm", ours), ("TorchEBM", theirs)):
            redone = sum(x["discarded_contended"] for x in recs)
            worst = max(x["max_foreign_cores_kept"] for x in recs)
            if redone or worst > MAX_FOREIGN:
                notes.append(
                    f"- `{w}` {side}: {redone} repeat(s) redone for contention; "
                    f"worst kept repeat had {worst:.2f} foreign cores"
                )
    every = [r for sides in results.values() for recs in sides.values() for r in recs]
    t_start = [r["rss_start_kb"] for r in every if r["impl"] == "torchebm" and r.get("rss_start_kb")]
    e_start = [r["rss_start_kb"] for r in every if r["impl"] == "ebm" and r.get("rss_start_kb")]

    def show(xs):
        return "/".join(str(x) for x in sorted(xs))

    warm = f" after {warmup} warm-up" if warmup is not None else ""
    lines += [
        "",
        (
            f"Each cell is the median over {show(n_rounds)} rounds (A/B, then B/A) of the per-process median of "
            f"{show(n_repeats)} timed repeats{warm}; the ratio is the median of the per-round "
            "ratios (range in brackets). Peak RSS is the largest ru_maxrss over the rounds, whole process."
        ),
    ]
    if t_start and e_start:
        lines.append(
            f"Resident memory at start, before the workload is built: TorchEBM "
            f"{statistics.median(t_start) / 1024:.0f} MiB (python + torch + torchebm imported), "
            f"ebm {statistics.median(e_start) / 1024:.0f} MiB."
        )
    if contended:
        lines.append(
            "† At least one kept repeat ran while other processes used more than "
            f"{MAX_FOREIGN} core (the guard was off, or gave up after --max-wait and 4 x repeats attempts): "
            "not a valid comparison, rerun on a quiet machine."
        )
    if notes:
        lines += ["", "Contention:"] + notes
    shown = os.path.relpath(raw_path, ROOT) if raw_path.startswith(ROOT + os.sep) else raw_path
    lines += ["", f"Raw JSON lines: `{shown}`"]
    return "\n".join(lines)


def summarize_file(raw_path):
    """--summarize: the table of a raw.jsonl written earlier (also of an interrupted run)."""
    results = {}
    with open(raw_path) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                results.setdefault(r["workload"], {"ebm": [], "torchebm": []})[r["impl"]].append(r)
    if not results:
        die(f"no records in {raw_path}")
    first = next(r for sides in results.values() for r in sides["torchebm"] + sides["ebm"])
    header = f"Side by side, from {raw_path} ({first.get('version', '')})"
    return summary(results, header, f"python3 benches/compare/run.py --summarize {raw_path}", raw_path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS), help="comma-separated (default: issue 7's five)")
    ap.add_argument("--rounds", type=int, default=3, help="A/B rounds per workload (default 3)")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats per process (default 3)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed repeats per process (default 1)")
    ap.add_argument("--len", type=int, default=None, help="override steps/iterations/evals per repeat")
    ap.add_argument(
        "--max-wait",
        type=float,
        default=300.0,
        help="longest wait for a quiet machine before a repeat, s (default 300)",
    )
    ap.add_argument("--no-guard", action="store_true", help="no quiet-machine wait, no redone repeats")
    ap.add_argument("--venv", default=os.environ.get("VENV", os.path.expanduser("~/torchebm-venv")))
    ap.add_argument(
        "--anchors",
        default=os.environ.get("ANCHORS", os.path.normpath(os.path.join(ROOT, "..", "shared", "anchors", "torchebm"))),
    )
    ap.add_argument("--bin", default=None, help="our workload binary (default: cargo build --release)")
    ap.add_argument("--out-dir", default=None, help="raw JSON lines and logs (default benches/compare/logs/<UTC time>)")
    ap.add_argument("--summarize", metavar="RAW_JSONL", help="only print the table of an earlier run's raw.jsonl")
    a = ap.parse_args()
    if a.summarize:
        print(summarize_file(a.summarize))
        return 0

    names = [w for w in a.workloads.split(",") if w]
    for w in names:
        if w not in TARGETS:
            die(f"unknown workload {w}; one of {', '.join(TARGETS)}")
    py = os.path.join(a.venv, "bin", "python")
    if not os.path.exists(py):
        die(VENV_HELP.format(venv=a.venv))
    probe = "import torch, torchebm; print(torch.__version__, torchebm.__version__)"
    chk = subprocess.run([py, "-B", "-c", probe], check=False, capture_output=True, text=True)
    if chk.returncode != 0:
        die(VENV_HELP.format(venv=a.venv) + f"\n\n(import failed: {chk.stderr.strip().splitlines()[-1:]})")
    if not os.path.isfile(os.path.join(a.anchors, "common.py")):
        die(f"no common.py in {a.anchors}; set ANCHORS (or --anchors) to shared/anchors/torchebm")

    started = datetime.datetime.now(datetime.UTC)
    out_dir = a.out_dir or os.path.join(HERE, "logs", started.strftime("%Y%m%dT%H%M%SZ"))
    os.makedirs(out_dir, exist_ok=True)
    exe = a.bin or build_ours()
    ebm_at = git_state() if not a.bin else f"{exe} (given with --bin; the tree is now at {git_state()})"

    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", ANCHORS=a.anchors)
    common_flags = ["--repeats", str(a.repeats), "--warmup", str(a.warmup), "--max-wait", str(a.max_wait)]
    if a.len:
        common_flags += ["--len", str(a.len)]
    if a.no_guard:
        common_flags.append("--no-guard")
    cmds = {
        "ebm": lambda w, r: [exe, w, "--round", str(r)] + common_flags,
        "torchebm": lambda w, r: (
            [py, "-B", os.path.join(HERE, "torchebm_workload.py"), w, "--round", str(r)] + common_flags
        ),
    }
    raw_path = os.path.join(out_dir, "raw.jsonl")
    results = {w: {"ebm": [], "torchebm": []} for w in names}
    with open(raw_path, "w") as raw:
        for w in names:
            for r in range(a.rounds):
                # A/B in even rounds, B/A in odd ones, so a steady drift of the machine's speed
                # does not always favour the side that runs first.
                order = ("ebm", "torchebm") if r % 2 == 0 else ("torchebm", "ebm")
                for side in order:
                    cmd = cmds[side](w, r)
                    rec, rss = run_one(cmd, env, os.path.join(out_dir, f"{w}.{side}.{r}"))
                    rec["peak_rss_kb_wait4"] = rss
                    rec["command"] = shlex.join(cmd)
                    raw.write(json.dumps(rec) + "\n")
                    raw.flush()
                    results[w][side].append(rec)
                    print(
                        f"{w} round {r} {side:8s}: {fmt(rec['value'], rec['unit'])}, "
                        f"peak RSS {rss / 1024:.0f} MiB, attempts {rec['attempts']} "
                        f"(redone {rec['discarded_contended']}, max foreign {rec['max_foreign_cores_kept']} cores)",
                        file=sys.stderr,
                        flush=True,
                    )

    header = (
        f"Side by side, {started.strftime('%Y-%m-%d %H:%M')} UTC, {platform.machine()}, "
        f"{os.cpu_count()} CPUs; ebm at {ebm_at}; {results[names[0]]['torchebm'][0]['version']}"
    )
    command = shlex.join(["python3", "benches/compare/run.py"] + sys.argv[1:])
    text = summary(results, header, command, raw_path, a.warmup)
    with open(os.path.join(out_dir, "summary.md"), "w") as f:
        f.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
