"""TorchEBM 0.8.9 on two moons, its samples saved for `ebm-launch eval RUN --samples FILE.npy`,
so they are scored by ebm's own code (MMD² at four bandwidths with floors and ceilings).

    /root/torchebm-venv/bin/python docs/experiments/torchebm_two_moons_samples.py OUT_DIR

The recipe of shared/anchors/torchebm/bench_train_cd.py: TwoMoonsDataset(3000, noise 0.05),
MLP 2-128-128-1 SiLU, ContrastiveDivergence(LangevinDynamics(step 0.01, noise 1), k = 10,
persistent), Adam 1e-3, batch 256, 2,000 iterations; then 2,000 samples from N(0, I) after 500
Langevin steps. Two settings: the library's defaults (energy_reg_weight 1e-3) and
energy_reg_weight 0.1 (the anchor's stable setting). Seeds 0, 1, 2. Writes
OUT_DIR/torchebm_{defaults,reg0.1}_seed{S}.npy (float32, [2000, 2]).

With a third argument, an ebm run folder trained with the same network (examples/two_moons.toml:
MLP 2-128-128-1 SiLU), each trained TorchEBM energy is also written as an ebm run,
OUT_DIR/torchebm_{tag}_seed{S}/: that run's config and its newest checkpoint with the model's
tensors replaced by TorchEBM's weights (nn.Sequential's net.0/2/4 are ebm's layers.0/1/2, both
[out, in]) and the checksum dropped (ebm loads it unverified, with a warning). Then

    ebm-launch eval OUT_DIR/torchebm_reg0.1_seed0

measures TorchEBM's density with ebm's own code: grid log Z, test log-likelihood, KL to the
true density, MMD² of ebm's sampler on TorchEBM's energy.
"""

import os
import shutil
import sys

import numpy as np
import torch
from torch import nn
from torchebm.core import BaseModel
from torchebm.datasets import TwoMoonsDataset
from torchebm.losses import ContrastiveDivergence
from torchebm.samplers import LangevinDynamics


class MLPEnergy(BaseModel):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(2, 128), nn.SiLU(), nn.Linear(128, 128), nn.SiLU(), nn.Linear(128, 1)
        )

    def forward(self, x):
        return self.net(x).squeeze(-1)


def as_ebm_run(model, template, run_dir):
    """`template`'s config and newest checkpoint, with `model`'s weights."""
    from safetensors import safe_open
    from safetensors.numpy import save_file

    ckpts = sorted(os.listdir(os.path.join(template, "checkpoints")))
    newest = [c for c in ckpts if c.startswith("step_") and c.endswith(".safetensors")][-1]
    with safe_open(os.path.join(template, "checkpoints", newest), "np") as f:
        meta = {k: v for k, v in f.metadata().items() if k != "checksum.crc32c"}
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    for ebm_i, torch_i in enumerate([0, 2, 4]):
        layer = model.net[torch_i]
        for part in ["weight", "bias"]:
            key = f"model.layers.{ebm_i}.{part}"
            value = getattr(layer, part).detach().numpy().astype(np.float32)
            assert tensors[key].shape == value.shape, (key, tensors[key].shape, value.shape)
            tensors[key] = value
    if os.path.exists(run_dir):
        shutil.rmtree(run_dir)
    os.makedirs(os.path.join(run_dir, "checkpoints"))
    shutil.copy(os.path.join(template, "config.toml"), run_dir)
    save_file(tensors, os.path.join(run_dir, "checkpoints", newest), metadata=meta)
    print(run_dir, "written from", newest)


def run(seed, reg, out, template=None):
    data = TwoMoonsDataset(n_samples=3000, noise=0.05, seed=0).get_data()
    # After the dataset: TwoMoonsDataset(seed=0) reseeds torch's global generator, so a seed set
    # before it would give every seed the same weights and batches (it did until 2026-12-07).
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = MLPEnergy()
    sampler = LangevinDynamics(model, step_size=0.01, noise_scale=1.0)
    cd = ContrastiveDivergence(
        model=model, sampler=sampler, k_steps=10, persistent=True, energy_reg_weight=reg
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    cd.initialize_buffer((2,))
    for _ in range(2000):
        batch = data[torch.randint(len(data), (256,))]
        loss, _ = cd(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.manual_seed(10_000 + seed)
    x0 = torch.randn(2000, 2)
    samples = sampler.sample(x=x0, n_steps=500).detach().numpy().astype(np.float32)
    np.save(out, samples)
    print(out, "finite:", bool(np.isfinite(samples).all()))
    if template is not None:
        as_ebm_run(model, template, out[: -len(".npy")])


if __name__ == "__main__":
    out_dir = sys.argv[1]
    template = sys.argv[2] if len(sys.argv) > 2 else None
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(2)
    for tag, reg in [("defaults", 1e-3), ("reg0.1", 0.1)]:
        for seed in [0, 1, 2]:
            run(seed, reg, os.path.join(out_dir, f"torchebm_{tag}_seed{seed}.npy"), template)
