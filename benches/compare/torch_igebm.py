"""PyTorch reference of examples/cifar_ebm.toml (issue 15): the same IGEBM-style ResNet energy and
the same PCD recipe, written the way the seed code is, to time against ebm on the same GPU.

Model (crates/ebm-models/src/resnet.rs): conv3x3 stem (3 -> channels[0]); stage s: [2x2 average
pool if s > 0], blocks[s] x residual block; block(h) = swish(conv3x3(swish(conv3x3(h))) + skip(h)),
skip = 1x1 conv when the channels change; global sum pool; linear head. Spectral norm on every conv
and the head (one power iteration per training forward, none while sampling: the cached
parametrisation, as ebm's sampling view).
Recipe: a batch of 128 data images and 128 chains from a 10,000-chain replay buffer (5 % restart
from U(-1, 1)); k = 60 Langevin steps x <- clamp(x - 10 grad E + sqrt(20) 0.00112 eps, -1, 1);
loss = mean E(x+) - mean E(x-) + 1.0 mean(E(x+)^2 + E(x-)^2); Adam(1e-4, betas (0, 0.999)); the
gradient's global norm clipped to 0.1.

  python3 benches/compare/torch_igebm.py --device cuda --precision fp32 --iters 30
  python3 benches/compare/torch_igebm.py --device cpu --iters 2 --k 2 --channels 8,16,16   # smoke

Prints one JSON line: iterations/s of training, images/s of grad E (the sampler's unit of work),
peak GPU memory. The data are uniform noise images: the timing does not depend on their content.
"""

import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm


def sn(module, on):
    return spectral_norm(module) if on else module


class Block(nn.Module):
    def __init__(self, cin, cout, use_sn):
        super().__init__()
        self.conv1 = sn(nn.Conv2d(cin, cout, 3, padding=1), use_sn)
        self.conv2 = sn(nn.Conv2d(cout, cout, 3, padding=1), use_sn)
        self.skip = sn(nn.Conv2d(cin, cout, 1), use_sn) if cin != cout else None

    def forward(self, h):
        out = self.conv2(F.silu(self.conv1(h)))
        return F.silu(out + (self.skip(h) if self.skip is not None else h))


class ResNetEnergy(nn.Module):
    def __init__(self, channels=(128, 256, 256), blocks=(2, 2, 2), use_sn=True, in_channels=3):
        super().__init__()
        self.stem = sn(nn.Conv2d(in_channels, channels[0], 3, padding=1), use_sn)
        stages, cin = [], channels[0]
        for s, (cout, n) in enumerate(zip(channels, blocks)):
            layers = [nn.AvgPool2d(2)] if s > 0 else []
            for _ in range(n):
                layers.append(Block(cin, cout, use_sn))
                cin = cout
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        self.head = sn(nn.Linear(cin, 1), use_sn)

    def forward(self, x):
        h = self.stages(F.silu(self.stem(x)))
        return self.head(h.sum(dim=(2, 3))).squeeze(1)


def energy(model, x, precision):
    if precision == "bf16":
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            return model(x).float()
    return model(x)


def langevin(model, x, k, step, noise, precision):
    """k steps with the weights fixed (no power iteration, no parameter gradients)."""
    std = (2 * step) ** 0.5 * noise
    for p in model.parameters():
        p.requires_grad_(False)
    with parametrize.cached():
        for _ in range(k):
            x = x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(energy(model, x, precision).sum(), x)
            x = (x - step * g + std * torch.randn_like(x)).clamp_(-1, 1)
    for p in model.parameters():
        p.requires_grad_(True)
    return x.detach()


class Trainer:
    """The recipe's training iteration (as main() times it and benches/compare/torchebm_workload.py's
    cd_resnet_cifar runs it): fresh weights, Adam state, noise data and replay buffer."""

    def __init__(self, device, channels=(128, 256, 256), batch=128, buffer=10000, k=60, precision="fp32", seed=0):
        torch.manual_seed(seed)
        self.dev, self.batch, self.k, self.precision = device, batch, k, precision
        self.model = ResNetEnergy(channels=channels).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-4, betas=(0.0, 0.999))
        self.data = torch.rand(2048, 3, 32, 32, device=device) * 2 - 1
        self.buffer = torch.rand(buffer, 3, 32, 32, device=device) * 2 - 1

    def step(self):
        dev, batch, model = self.dev, self.batch, self.model
        pos = self.data[torch.randint(len(self.data), (batch,), device=dev)]
        idx = torch.randint(len(self.buffer), (batch,), device=dev)
        neg = self.buffer[idx]
        fresh = torch.rand(batch, device=dev) < 0.05
        neg = torch.where(fresh[:, None, None, None], torch.rand_like(neg) * 2 - 1, neg)
        neg = langevin(model, neg, self.k, 10.0, 0.00112, self.precision)
        self.buffer[idx] = neg
        e_pos, e_neg = energy(model, pos, self.precision), energy(model, neg, self.precision)
        loss = e_pos.mean() - e_neg.mean() + 1.0 * (e_pos**2 + e_neg**2).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        self.opt.step()
        return loss


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--iters", type=int, default=30, help="timed training iterations")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--k", type=int, default=60)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--buffer", type=int, default=10000)
    ap.add_argument("--channels", default="128,256,256")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    channels = tuple(int(c) for c in args.channels.split(","))
    trainer = Trainer(dev, channels, args.batch, args.buffer, args.k, args.precision)
    model, iteration = trainer.model, trainer.step

    for _ in range(args.warmup):
        iteration()
    sync(dev)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(args.iters):
        loss = iteration()
    sync(dev)
    train_s = time.perf_counter() - t0

    # grad E alone, as the sampler calls it: batch images per call.
    x = torch.rand(args.batch, 3, 32, 32, device=dev) * 2 - 1
    reps = max(args.k, 10)
    langevin(model, x, 2, 10.0, 0.00112, args.precision)
    sync(dev)
    t0 = time.perf_counter()
    langevin(model, x, reps, 10.0, 0.00112, args.precision)
    sync(dev)
    grad_s = time.perf_counter() - t0
    out = {
        "impl": "pytorch",
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "precision": args.precision,
        "channels": list(channels),
        "batch": args.batch,
        "k": args.k,
        "iters": args.iters,
        "train_iters_per_s": args.iters / train_s,
        "grad_images_per_s": reps * args.batch / grad_s,
        "peak_mem_mib": torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else None,
        "final_loss": float(loss.detach()),
    }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
