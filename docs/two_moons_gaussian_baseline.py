# Log-likelihood baseline for two moons: a Gaussian fitted to 20,000 points, scored on 20,000 others.
import numpy as np
from torchebm.datasets import TwoMoonsDataset
a = TwoMoonsDataset(20000, noise=0.05, seed=1).get_data().numpy().astype(np.float64)
b = TwoMoonsDataset(20000, noise=0.05, seed=2).get_data().numpy().astype(np.float64)
mu, cov = a.mean(0), np.cov(a.T)
d = b - mu
inv = np.linalg.inv(cov)
ll = -0.5 * np.einsum("ni,ij,nj->n", d, inv, d) - 0.5 * np.log(np.linalg.det(2 * np.pi * cov))
print(f"Gaussian fit: mean test log-likelihood {ll.mean():.4f} nats/point")
