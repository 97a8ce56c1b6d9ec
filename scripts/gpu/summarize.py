"""The summary of scripts/gpu/check.sh: reads the logs it left in OUT, writes OUT/gpu-check.json
and OUT/gpu-check.md, prints the markdown.

    python3 scripts/gpu/summarize.py OUT DRY_RUN(0|1)

ebm's training rate comes from the timestamps of its JSON log lines (`--log-format json`, one
line every 10 steps), from the first line at step >= 20 (after CUDA start-up and the first
kernels' compilation) to the last. The sampler's ∇ₓE rate is the difference of two runs that
differ only in k (60 and 20 Langevin steps per iteration): (t60 - t20) / 40 seconds per Langevin
step on a batch of 128 chains.
"""

import datetime as dt
import json
import os
import re
import sys

BATCH = 128  # examples/cifar_ebm.toml's train.batch_size


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def ebm_rate(out, name):
    """(iterations/s, steps seen, error line) of one ebm training log."""
    points, last_error = [], None
    for line in read(os.path.join(out, f"{name}.log")).splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            if "error" in line.lower():
                last_error = line.strip()
            continue
        msg = row.get("message", "")
        if row.get("level") == "ERROR":
            last_error = msg
        m = re.match(r"step (\d+)/\d+", msg)
        if m:
            t = dt.datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00"))
            points.append((int(m.group(1)), t.timestamp()))
    timed = [p for p in points if p[0] >= 20]
    if len(timed) < 2:
        return None, (points[-1][0] if points else 0), last_error
    (s0, t0), (s1, t1) = timed[0], timed[-1]
    return (s1 - s0) / (t1 - t0), s1, last_error


def peak_mib(out, names):
    peak = None
    for name in names:
        for v in read(os.path.join(out, f"{name}.mem")).split():
            try:
                peak = max(peak or 0, int(v))
            except ValueError:
                pass
    return peak


def tests(out):
    log = read(os.path.join(out, "gpu-tests.log"))
    result = re.findall(r"test result: (\w+)\. (\d+) passed; (\d+) failed", log)
    failed = re.findall(r"^test (\S+) \.\.\. FAILED", log, re.M)
    skipped = re.findall(r"^test (\S+) \.\.\. .*skipped, (.*)$", log, re.M)
    return {
        "ran": bool(log),
        "result": result[-1][0] if result else None,
        "passed": int(result[-1][1]) if result else 0,
        "failed": failed,
        "skipped": [f"{t}: {why}" for t, why in skipped],
    }


def main():
    out, dry = sys.argv[1], sys.argv[2] == "1"
    rate60, steps60, err60 = ebm_rate(out, "ebm_k60")
    rate20, steps20, err20 = ebm_rate(out, "ebm_k20")
    grad_ips = None
    if rate60 and rate20 and rate20 > rate60:
        per_step = (1 / rate60 - 1 / rate20) / 40
        grad_ips = BATCH / per_step
    torch_rows = []
    for line in read(os.path.join(out, "torch.jsonl")).splitlines():
        try:
            torch_rows.append(json.loads(line))
        except ValueError:
            pass
    fp32 = next((r for r in torch_rows if r.get("precision") == "fp32"), None)
    summary = {
        "dry_run": dry,
        "manifest": json.loads(read(os.path.join(out, "manifest.json")) or "null"),
        "versions": read(os.path.join(out, "versions.txt")).strip().splitlines(),
        "gpu_tests": tests(out),
        "ebm": {
            "train_iters_per_s_k60": rate60,
            "steps_reached_k60": steps60,
            "error_k60": err60,
            "train_iters_per_s_k20": rate20,
            "steps_reached_k20": steps20,
            "error_k20": err20,
            "grad_images_per_s": grad_ips,
            "peak_gpu_mem_mib_whole_device": peak_mib(out, ["ebm_k60", "ebm_k20"]),
        },
        "pytorch": torch_rows,
        "ebm_over_pytorch_fp32": (rate60 / fp32["train_iters_per_s"]) if rate60 and fp32 else None,
    }
    with open(os.path.join(out, "gpu-check.json"), "w") as f:
        json.dump(summary, f, indent=2)

    def fmt(v, spec=".2f"):
        return "—" if v is None else format(v, spec)

    t = summary["gpu_tests"]
    md = [
        f"# GPU check{' (dry run: nothing ran on a GPU)' if dry else ''}",
        "",
        "```",
        *summary["versions"][:8],
        "```",
        "",
        f"GPU tests: {t['result'] or 'not run'}, {t['passed']} passed, failed: "
        f"{', '.join(t['failed']) or 'none'}; skipped: {len(t['skipped'])}",
        "",
        "| what (examples/cifar_ebm.toml: ResNet 128-256-256, batch 128) | train it/s (k = 60) | ∇ₓE images/s | peak GPU memory MiB |",
        "|---|---|---|---|",
        f"| ebm (--gpus 1, f32) | {fmt(rate60, '.3f')} (k = 20: {fmt(rate20, '.3f')}) | "
        f"{fmt(grad_ips, '.0f')} | {fmt(summary['ebm']['peak_gpu_mem_mib_whole_device'], 'd')} (whole device) |",
    ]
    for r in torch_rows:
        md.append(
            f"| PyTorch {r['torch']} eager {r['precision']} ({r['device']}) | "
            f"{r['train_iters_per_s']:.3f} | {r['grad_images_per_s']:.0f} | "
            f"{fmt(r.get('peak_mem_mib'), '.0f')} (allocator peak) |"
        )
    md += ["", f"ebm / PyTorch fp32 training iterations: {fmt(summary['ebm_over_pytorch_fp32'])}"]
    for name, err in (("k = 60", err60), ("k = 20", err20)):
        if err:
            md.append(f"\nebm run {name} reported: `{err[:300]}`")
    text = "\n".join(md) + "\n"
    with open(os.path.join(out, "gpu-check.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
