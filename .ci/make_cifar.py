#!/usr/bin/env python3
"""Writes CIFAR-10 binary files of the real format with random content (CI has no CIFAR-10):
data_batch_1..5.bin and test_batch.bin, N records each (1 label byte + 3,072 pixel bytes)."""
import os
import random
import sys

out, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 64
os.makedirs(out, exist_ok=True)
rng = random.Random(0)
for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
    with open(os.path.join(out, name), "wb") as f:
        for _ in range(n):
            f.write(bytes([rng.randrange(10)]) + rng.randbytes(3072))
