"""A plain PyTorch implementation of ebm's Fashion-MNIST conv recipe (examples/fashion_mnist.toml;
see docs/fashion_mnist_conv.md), written the way the IGEBM / short-run-MCMC seed code is: the same
conv energy (with the 7x7 head), Langevin sampler, replay buffer, contrastive-divergence loss with
the energy L2 regulariser, Adam, gradient clipping and EMA of the weights. Two uses:

  speed (imported by torchebm_workload.py, workload `cd_conv_fmnist`): one training iteration
      = 64 chains from the buffer, k Langevin steps + the parameter update.
  train (issue 13 item 7): trains for a wall-clock budget (--seconds) or a number of iterations
      (--iters: the iterations it makes in the budget on a quiet machine, when the machine is
      shared), then draws samples from uniform noise with the EMA weights (300 Langevin steps, as
      the example's [eval]) and writes them as .npy, to be scored by ebm in the same feature space:
        python benches/compare/fmnist_reference.py train --seconds 1939 --out runs/torch_ref
        ./target/release/ebm-launch eval runs/fashion_mnist --samples runs/torch_ref/samples.npy

Everything reads the recipe from RECIPE below, which mirrors that TOML; keep the two in step.
"""

import argparse
import copy
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

RECIPE = {
    # model: conv -> swish -> ... -> global mean pool -> linear
    # (channels, kernel, stride, pad); the last conv covers the whole 7x7 map
    "layers": [(16, 3, 1, 1), (32, 4, 2, 1), (64, 4, 2, 1), (64, 7, 1, 0)],
    # sampler: x <- clamp(x - eta grad E + sqrt(2 eta) s eps, -1, 1)
    "step_size": 10.0,
    "noise_scale": 0.00112,
    "k": 40,
    # loss: persistent chains, each drawn chain restarts from U(-1, 1) with reinit_prob
    "buffer_capacity": 5000,
    "reinit_prob": 0.05,
    "energy_reg": 1.0,
    # optimizer
    "lr": 3e-4,
    "betas": (0.0, 0.999),
    "grad_clip": 0.1,
    "ema_decay": 0.99,
    "batch_size": 64,
    # samples from noise for the evaluation ([eval] steps)
    "eval_steps": 300,
}


class ConvEnergy(nn.Module):
    def __init__(self, layers, in_channels=1):
        super().__init__()
        convs, c = [], in_channels
        for out, k, s, p in layers:
            convs.append(nn.Conv2d(c, out, k, stride=s, padding=p))
            c = out
        self.convs = nn.ModuleList(convs)
        self.head = nn.Linear(c, 1)

    def forward(self, x):
        h = x
        for conv in self.convs:
            h = F.silu(conv(h))
        return self.head(h.mean(dim=(2, 3))).squeeze(1)


def langevin(model, x, k, eta, scale, generator=None):
    noise_std = (2.0 * eta) ** 0.5 * scale
    for p in model.parameters():
        p.requires_grad_(False)
    for _ in range(k):
        x = x.detach().requires_grad_(True)
        g = torch.autograd.grad(model(x).sum(), x)[0]
        x = x - eta * g + noise_std * torch.randn(x.shape, generator=generator)
        x = x.clamp(-1.0, 1.0)
    for p in model.parameters():
        p.requires_grad_(True)
    return x.detach()


class Trainer:
    def __init__(self, data, recipe=RECIPE, seed=0):
        torch.manual_seed(seed)
        self.r = recipe
        self.data = data
        self.model = ConvEnergy(recipe["layers"], data.shape[1])
        self.ema = copy.deepcopy(self.model)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=recipe["lr"], betas=recipe["betas"])
        self.buffer = torch.rand(recipe["buffer_capacity"], *data.shape[1:]) * 2 - 1

    def step(self):
        r, n = self.r, self.r["batch_size"]
        pos = self.data[torch.randint(len(self.data), (n,))]
        slots = torch.randint(len(self.buffer), (n,))
        start = self.buffer[slots]
        fresh = torch.rand(n) < r["reinit_prob"]
        start[fresh] = torch.rand(int(fresh.sum()), *start.shape[1:]) * 2 - 1
        neg = langevin(self.model, start, r["k"], r["step_size"], r["noise_scale"])
        self.buffer[slots] = neg
        e = self.model(torch.cat([pos, neg]))
        e_pos, e_neg = e[:n], e[n:]
        loss = e_pos.mean() - e_neg.mean() + r["energy_reg"] * (e_pos.pow(2).mean() + e_neg.pow(2).mean())
        self.opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), r["grad_clip"])
        self.opt.step()
        with torch.no_grad():
            d = r["ema_decay"]
            for a, p in zip(self.ema.parameters(), self.model.parameters()):
                a.mul_(d).add_(p, alpha=1 - d)
        return loss.item()

    def sample(self, n, k, batch=500):
        out = []
        for i in range(0, n, batch):
            x = torch.rand(min(batch, n - i), *self.data.shape[1:]) * 2 - 1
            out.append(langevin(self.ema, x, k, self.r["step_size"], self.r["noise_scale"]))
        return torch.cat(out)


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        _, n, h, w = struct.unpack(">IIII", f.read(16))
        x = np.frombuffer(f.read(n * h * w), dtype=np.uint8).reshape(n, 1, h, w)
    return torch.from_numpy(x.astype(np.float32) / 127.5 - 1.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["train"])
    ap.add_argument("--seconds", type=float, default=1939.0, help="training wall-clock budget")
    ap.add_argument("--iters", type=int, default=0, help="train this many iterations instead")
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=2000, help="samples from noise to write")
    ap.add_argument("--sample-steps", type=int, default=RECIPE["eval_steps"])
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    data = read_idx_images(os.path.join(a.data, "train-images-idx3-ubyte.gz"))
    t = Trainer(data, seed=a.seed)
    start, steps, log = time.time(), 0, []
    while (steps < a.iters) if a.iters else (time.time() - start < a.seconds):
        loss = t.step()
        steps += 1
        if steps % 50 == 0:
            log.append({"step": steps, "loss": loss, "seconds": time.time() - start})
            print(json.dumps(log[-1]), flush=True)
    train_seconds = time.time() - start
    x = t.sample(a.n, a.sample_steps)
    np.save(os.path.join(a.out, "samples.npy"), x.numpy().astype(np.float32))
    # The replay buffer too, so ebm can score it as it scores its own (`eval --samples`).
    np.save(os.path.join(a.out, "buffer.npy"), t.buffer.numpy().astype(np.float32))
    torch.save(t.ema.state_dict(), os.path.join(a.out, "ema.pt"))
    info = {
        "recipe": {k: v for k, v in RECIPE.items()},
        "steps": steps,
        "train_seconds": train_seconds,
        "budget": {"iters": a.iters} if a.iters else {"seconds": a.seconds},
        "threads": a.threads,
        "torch": torch.__version__,
        "samples": {"n": a.n, "steps": a.sample_steps, "init": "uniform(-1, 1)", "weights": "ema"},
    }
    with open(os.path.join(a.out, "info.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(json.dumps({"steps": steps, "train_seconds": train_seconds}))


if __name__ == "__main__":
    main()
