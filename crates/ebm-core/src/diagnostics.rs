//! Convergence diagnostics for a scalar quantity drawn by several chains: the multi-chain
//! effective sample size (Stan's estimator; Vehtari et al. 2021, BlackJAX
//! `effective_sample_size`) and the classic split-R̂ (Gelman et al., BDA3).
//!
//! Draws are laid out chain-major: `draws[c * n + t]` is step `t` of chain `c`, `n` steps per
//! chain. Both functions return NaN when the draws cannot say anything (fewer than 4 steps, a
//! ragged layout, no variance at all), so a caller never mistakes a degenerate run for a good one.

use serde::Serialize;

/// What the driver reports per dimension of the chains' state.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostics {
    /// Index of the dimension in the flattened state.
    pub dim: usize,
    /// Multi-chain effective sample size.
    pub ess: f64,
    /// Split-R̂; close to 1 when the chains agree with each other.
    pub rhat: f64,
    /// Mean over all chains and kept steps.
    pub mean: f64,
    /// Variance over all chains and kept steps (n − 1 denominator).
    pub variance: f64,
}

/// Per-chain means and biased (1/n) autocovariance at lag `t`, averaged over chains.
struct Chains<'a> {
    draws: &'a [f64],
    n: usize,
    means: Vec<f64>,
}

impl Chains<'_> {
    fn mean_acov(&self, lag: usize) -> f64 {
        let sum: f64 = self
            .draws
            .chunks_exact(self.n)
            .zip(&self.means)
            .map(|(c, &m)| {
                let s: f64 = (0..self.n - lag)
                    .map(|t| (c[t] - m) * (c[t + lag] - m))
                    .sum();
                s / self.n as f64
            })
            .sum();
        sum / self.means.len() as f64
    }
}

fn layout(draws: &[f64], n_chains: usize) -> Option<usize> {
    if n_chains == 0 || draws.is_empty() || !draws.len().is_multiple_of(n_chains) {
        return None;
    }
    Some(draws.len() / n_chains)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Sample variance with an n − 1 denominator (0 for fewer than two values).
fn sample_var(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let m = mean(v);
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64
}

/// Multi-chain effective sample size of `draws` (chain-major, `n_chains` chains), by Geyer's
/// initial monotone sequence over the chains' combined autocorrelation, as Stan computes it.
/// Autocovariances are computed lag by lag and only as far as the sequence goes, so well-mixing
/// chains cost a few passes over the draws.
pub fn effective_sample_size(draws: &[f64], n_chains: usize) -> f64 {
    let Some(n) = layout(draws, n_chains) else {
        return f64::NAN;
    };
    if n < 4 || draws.iter().any(|x| !x.is_finite()) {
        return f64::NAN;
    }
    let means: Vec<f64> = draws.chunks_exact(n).map(mean).collect();
    let chains = Chains { draws, n, means };
    let nf = n as f64;
    let mean_var = chains.mean_acov(0) * nf / (nf - 1.0);
    let mut var_plus = mean_var * (nf - 1.0) / nf;
    if n_chains > 1 {
        var_plus += sample_var(&chains.means);
    }
    if !(var_plus > 0.0) {
        return f64::NAN;
    }
    let rho = |t: usize| 1.0 - (mean_var - chains.mean_acov(t)) / var_plus;

    // Geyer's initial positive sequence: sum pairs while they stay positive, stopping 4 short
    // of the end so the last pair can act as the antithetic-chain bias term.
    let mut rho_hat = vec![0.0; n];
    rho_hat[0] = 1.0;
    let (mut even, mut odd) = (1.0, rho(1));
    rho_hat[1] = odd;
    let mut s = 1;
    while s < n - 4 && even + odd > 0.0 {
        even = rho(s + 1);
        odd = rho(s + 2);
        if even + odd >= 0.0 {
            rho_hat[s + 1] = even;
            rho_hat[s + 2] = odd;
        }
        s += 2;
    }
    let max_s = s;
    if even > 0.0 {
        rho_hat[max_s + 1] = even;
    }
    // Initial monotone sequence: a pair may not exceed the one before it.
    let mut t = 1;
    while t + 3 <= max_s {
        let prev = rho_hat[t - 1] + rho_hat[t];
        if rho_hat[t + 1] + rho_hat[t + 2] > prev {
            rho_hat[t + 1] = prev / 2.0;
            rho_hat[t + 2] = prev / 2.0;
        }
        t += 2;
    }
    let total = (n * n_chains) as f64;
    let tau = -1.0 + 2.0 * rho_hat[..max_s].iter().sum::<f64>() + rho_hat[max_s + 1];
    // Antithetic chains can make τ tiny; Stan and BlackJAX cap the ESS at total·log10(total).
    let tau = tau.max(1.0 / total.log10());
    total / tau
}

/// Classic split-R̂: each chain is cut into two halves (the middle draw of an odd-length chain is
/// dropped), and R̂ = √(var⁺ / W) over the 2·`n_chains` half-chains, where W is the mean
/// within-chain variance and var⁺ = (n − 1)/n · W + B/n.
pub fn split_rhat(draws: &[f64], n_chains: usize) -> f64 {
    let Some(n) = layout(draws, n_chains) else {
        return f64::NAN;
    };
    if n < 4 || draws.iter().any(|x| !x.is_finite()) {
        return f64::NAN;
    }
    let half = n / 2;
    let halves: Vec<&[f64]> = draws
        .chunks_exact(n)
        .flat_map(|c| [&c[..half], &c[n - half..]])
        .collect();
    let w = mean(&halves.iter().map(|h| sample_var(h)).collect::<Vec<_>>());
    let means: Vec<f64> = halves.iter().map(|h| mean(h)).collect();
    let b_over_n = sample_var(&means);
    if !(w > 0.0) {
        return f64::NAN;
    }
    let hf = half as f64;
    let var_plus = (hf - 1.0) / hf * w + b_over_n;
    (var_plus / w).sqrt()
}

/// ESS, split-R̂, mean and variance of one dimension's draws (chain-major).
pub fn summarize(dim: usize, draws: &[f64], n_chains: usize) -> Diagnostics {
    let (mean_all, variance) = if draws.is_empty() {
        (f64::NAN, f64::NAN)
    } else {
        (mean(draws), sample_var(draws))
    };
    Diagnostics {
        dim,
        ess: effective_sample_size(draws, n_chains),
        rhat: split_rhat(draws, n_chains),
        mean: mean_all,
        variance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degenerate_inputs_are_nan() {
        assert!(effective_sample_size(&[1.0, 2.0, 3.0], 1).is_nan());
        assert!(effective_sample_size(&[1.0; 20], 2).is_nan());
        assert!(effective_sample_size(&[1.0; 21], 2).is_nan());
        assert!(split_rhat(&[1.0; 20], 2).is_nan());
        assert!(split_rhat(&[], 0).is_nan());
    }
}
