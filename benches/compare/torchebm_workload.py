"""TorchEBM side of the comparison: runs one named workload, prints one JSON line.

The counterpart of `cargo run --release -p ebm-benches --bin workload` (same names, sizes,
flags and JSON shape). Models, threads (2) and the contention guard come from the anchor's
common.py; each workload calls torchebm as the anchor's bench scripts do:

    langevin_10k / langevin_10 / hmc_1k   bench_sampling.py (a), (b)
    pcd_two_moons                         bench_train_cd.py (c), training loop only
    conv_grad_b64                         bench_conv.py (f), "one grad eval at b=64"
    cd_conv_fmnist                        plain PyTorch, fmnist_reference.py (not torchebm)
    cd_resnet_cifar                       plain PyTorch, torch_igebm.py (not torchebm)

Run with the venv's interpreter and -B (the anchors folder is read-only):

    ANCHORS=../shared/anchors/torchebm $HOME/torchebm-venv/bin/python -B \
        benches/compare/torchebm_workload.py langevin_10k --repeats 5
"""

import argparse
import json
import os
import sys
import time

sys.dont_write_bytecode = True
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANCHORS = os.environ.get("ANCHORS", os.path.join(_ROOT, "..", "shared", "anchors", "torchebm"))
sys.path.insert(0, os.path.abspath(ANCHORS))


def _status_kb(key):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# Same table as benches/src/workloads.rs: unit, lower_is_better, default len, batch.
SPECS = {
    "langevin_10k": ("chain-steps/s", False, 200, 10_000),
    "langevin_10": ("chain-steps/s", False, 2_000, 10),
    "hmc_1k": ("chain-steps/s", False, 100, 1_000),
    "pcd_two_moons": ("it/s", False, 500, 256),
    "conv_grad_b64": ("ms/grad", True, 10, 64),
    "cd_conv_fmnist": ("it/s", False, 5, 64),
    "cd_resnet_cifar": ("it/s", False, 1, 64),
}


def build(name, n, batch):
    """Returns (prepare, run): untimed set-up of one repeat, and the timed part."""
    import torch
    from common import ConvEnergy, MLPEnergy, seed_all

    if name in ("langevin_10k", "langevin_10", "hmc_1k"):
        from torchebm.samplers import HamiltonianMonteCarlo, LangevinDynamics

        seed_all(0)
        model = MLPEnergy()
        if name == "hmc_1k":
            sampler = HamiltonianMonteCarlo(model, step_size=0.01, n_leapfrog_steps=10)
        else:
            sampler = LangevinDynamics(model, step_size=0.01, noise_scale=1.0)
        x0 = torch.randn(batch, 2, generator=torch.Generator().manual_seed(1))

        def run():
            torch.manual_seed(2)
            sampler.sample(x=x0, n_steps=n)

        return (lambda: None), run

    if name == "pcd_two_moons":
        from torchebm.datasets import TwoMoonsDataset
        from torchebm.losses import ContrastiveDivergence
        from torchebm.samplers import LangevinDynamics

        data = TwoMoonsDataset(n_samples=3000, noise=0.05, seed=0).get_data()
        st = {}

        def prepare():
            # bench_train_cd.build(seed 0, eta 0.01) with the library defaults, then the
            # buffer's initialisation, both untimed as in the anchor's train_s.
            st.clear()
            seed_all(0)
            model = MLPEnergy()
            sampler = LangevinDynamics(model, step_size=0.01, noise_scale=1.0)
            cd = ContrastiveDivergence(
                model=model,
                sampler=sampler,
                k_steps=10,
                persistent=True,
                energy_reg_weight=0.001,
                buffer_size=10000,
            )
            cd.initialize_buffer((2,))
            st["cd"], st["opt"] = cd, torch.optim.Adam(model.parameters(), lr=1e-3)

        def run():
            cd, opt = st["cd"], st["opt"]
            for _ in range(n):
                b = data[torch.randint(len(data), (batch,))]
                loss, _neg = cd(b)
                opt.zero_grad()
                loss.backward()
                opt.step()

        return prepare, run

    if name == "conv_grad_b64":
        seed_all(0)
        model = ConvEnergy()
        x = (torch.rand(1024, 3, 32, 32) * 2 - 1)[:batch].clone()

        def run():
            for _ in range(n):
                model.gradient(x)

        return (lambda: None), run

    if name == "cd_conv_fmnist":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import fmnist_reference as ref

        data_dir = os.environ.get("EBM_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
        data = ref.read_idx_images(os.path.join(data_dir, "train-images-idx3-ubyte.gz"))
        st = {}

        def prepare():
            st["t"] = ref.Trainer(data, seed=0)

        def run():
            for _ in range(n):
                st["t"].step()

        return prepare, run

    if name == "cd_resnet_cifar":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import torch_igebm as ref

        st = {}

        def prepare():
            st.pop("t", None)  # free the previous repeat's buffer first
            st["t"] = ref.Trainer(torch.device("cpu"), batch=batch)

        def run():
            for _ in range(n):
                st["t"].step()

        return prepare, run

    raise SystemExit(f"unknown workload {name}; one of {', '.join(SPECS)}")


def measure(prepare, run, repeats, warmup, guard, max_wait):
    """common.timeit's protocol, with an untimed prepare() before every repeat."""
    import common

    for _ in range(warmup):
        prepare()
        run()
    times, attempts, discarded, waited = [], 0, 0, 0.0
    max_foreign = max_steal = 0.0
    while len(times) < repeats:
        prepare()
        if guard:
            waited += common.wait_quiet(max_wait_s=max_wait)
        with common.Foreign() as f:
            t0 = time.perf_counter()
            run()
            dt = time.perf_counter() - t0
        attempts += 1
        busy = f.cpu_s / dt > common.MAX_FOREIGN or f.steal_frac > common.MAX_STEAL
        if guard and busy and attempts < 4 * repeats:
            discarded += 1
            continue
        max_foreign = max(max_foreign, f.cpu_s / dt)
        max_steal = max(max_steal, f.steal_frac)
        times.append(dt)
    return times, attempts, discarded, max_foreign, max_steal, waited


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", nargs="?")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--len", type=int, default=None)
    ap.add_argument("--round", type=int, default=0)
    ap.add_argument("--max-wait", type=float, default=600.0)
    ap.add_argument("--no-guard", action="store_true")
    a = ap.parse_args()
    if a.list:
        for k, (unit, *_rest) in SPECS.items():
            print(f"{k:<15} {unit}")
        return 0
    if a.name not in SPECS:
        ap.error(f"workload must be one of {', '.join(SPECS)}")
    if not os.path.isfile(os.path.join(ANCHORS, "common.py")):
        sys.exit(f"no common.py in ANCHORS={ANCHORS}")

    # Imported before rss_start, which so includes torch and torchebm; common sets 2 threads.
    import common
    import torch
    import torchebm

    rss_start = _status_kb("VmRSS")
    unit, lower, default_len, batch = SPECS[a.name]
    n = a.len or default_len
    prepare, run = build(a.name, n, batch)
    times, attempts, discarded, mf, ms, waited = measure(prepare, run, a.repeats, a.warmup, not a.no_guard, a.max_wait)
    units = batch * n if unit == "chain-steps/s" else n
    med = common.med(times)
    out = {
        "impl": "torchebm",
        "workload": a.name,
        "round": a.round,
        "unit": unit,
        "lower_is_better": lower,
        "batch": batch,
        "len": n,
        "units_per_repeat": units,
        "repeats_s": [round(t, 6) for t in times],
        "median_s": med,
        "median_s_per_unit": med / units,
        "value": 1e3 * med / units if lower else units / med,
        "attempts": attempts,
        "discarded_contended": discarded,
        "max_foreign_cores_kept": round(mf, 3),
        "max_steal_kept": round(ms, 3),
        "waited_s": round(waited, 1),
        "guard": not a.no_guard,
        "rss_start_kb": rss_start,
        "peak_rss_kb": _status_kb("VmHWM"),
        "threads": torch.get_num_threads(),
        "version": f"torchebm {torchebm.__version__}, torch {torch.__version__}",
    }
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
