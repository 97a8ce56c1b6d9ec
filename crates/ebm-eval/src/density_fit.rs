//! How close a 2-D model's density is to the data's own, at the data's scale.
//!
//! - MMD² at several bandwidths ([`BANDWIDTHS`], 0.05 to 0.5), each beside its floor (two
//!   independent reference sets) and its ceiling (the init noise): one bandwidth ten times a
//!   moon's width hides blur that the small ones show.
//! - log Z by quadrature on a grid ([`grid_log_z`]), with an error estimate, beside the AIS
//!   estimate of `ebm-launch eval`; exact enough in 2-D to turn −E into a normalised density.
//! - The model's mean test log-likelihood, the data's true one ([`ebm_data::DataConfig::log_density`])
//!   and their difference: the mean of log p(x) − log q(x) over i.i.d. test points is an
//!   unbiased estimate of KL(data ‖ model) in nats, reported with its standard error.

use crate::{distance, Result};
use candle_core::{Device, Tensor};
use ebm_core::{rng, Energy};
use ebm_train::RunConfig;
use serde::{Deserialize, Serialize};

/// The bandwidths of the MMD² table: the data's own scale (a moon's noise is 0.05) up to the
/// TorchEBM anchor's 0.5.
pub const BANDWIDTHS: [f64; 4] = [0.05, 0.1, 0.2, 0.5];

/// Grid points per axis for log Z, and the coarser grid whose difference estimates its error.
pub const GRID_RESOLUTION: usize = 512;

/// One row of the MMD² table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MmdRow {
    pub bandwidth: f64,
    /// Model samples vs reference data.
    pub model: f64,
    /// Reference data vs independent reference data: the best any model can score.
    pub floor: f64,
    /// The init noise vs reference data: where sampling starts.
    pub noise: f64,
}

/// MMD² of `x` at each of [`BANDWIDTHS`], with floors and ceilings, in input space.
pub fn mmd_table(
    x: &[f32],
    fresh: &[f32],
    fresh2: &[f32],
    init: &[f32],
    dim: usize,
) -> Vec<MmdRow> {
    BANDWIDTHS
        .iter()
        .map(|&bw| MmdRow {
            bandwidth: bw,
            model: distance::mmd2_rbf(x, fresh, dim, bw),
            floor: distance::mmd2_rbf(fresh2, fresh, dim, bw),
            noise: distance::mmd2_rbf(init, fresh, dim, bw),
        })
        .collect()
}

/// log Z = log ∫ exp(−E) over a box, by the midpoint rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridLogZ {
    pub log_z: f64,
    /// Estimated error: the change from the grid at half the resolution, plus log(1 + the
    /// estimated mass beyond the box).
    pub error: f64,
    /// The same integral at half the resolution.
    pub log_z_coarse: f64,
    /// Estimated mass beyond the box as a share of the mass inside: each edge cell's density
    /// continued outwards with the decay rate between it and its inner neighbour (for as far
    /// as the box is wide where it does not decay).
    pub tail_mass: f64,
    pub resolution: usize,
    /// `[x_min, x_max, y_min, y_max]`.
    pub bounds: [f64; 4],
}

/// log ∫ exp(−E) over `bounds` at `resolution` midpoints per axis and at half that.
pub fn grid_log_z(
    energy: &dyn Energy,
    bounds: [f64; 4],
    resolution: usize,
    device: &Device,
) -> Result<GridLogZ> {
    let fine = midpoint_log_z(energy, bounds, resolution, device)?;
    let coarse = midpoint_log_z(energy, bounds, resolution / 2, device)?;
    Ok(GridLogZ {
        log_z: fine.0,
        error: (fine.0 - coarse.0).abs() + fine.1.ln_1p(),
        log_z_coarse: coarse.0,
        tail_mass: fine.1,
        resolution,
        bounds,
    })
}

/// (log Z, estimated share of mass beyond the box) at `n` midpoints per axis.
fn midpoint_log_z(
    energy: &dyn Energy,
    b: [f64; 4],
    n: usize,
    device: &Device,
) -> Result<(f64, f64)> {
    let (hx, hy) = ((b[1] - b[0]) / n as f64, (b[3] - b[2]) / n as f64);
    let mut pts = Vec::with_capacity(2 * n * n);
    for j in 0..n {
        for i in 0..n {
            pts.push((b[0] + (i as f64 + 0.5) * hx) as f32);
            pts.push((b[2] + (j as f64 + 0.5) * hy) as f32);
        }
    }
    // In chunks: one tensor of 262,144 points through an MLP is ~130 MB per hidden layer.
    let mut neg_e = Vec::with_capacity(n * n);
    for chunk in pts.chunks(2 * 16_384) {
        let x = Tensor::from_slice(chunk, (chunk.len() / 2, 2), device)?;
        let e = energy.energy(&x)?.to_dtype(candle_core::DType::F64)?;
        neg_e.extend(e.to_vec1::<f64>()?.into_iter().map(|v| -v));
    }
    let top = neg_e.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let log_w = |i: usize, j: usize| neg_e[j * n + i] - top;
    let total: f64 = neg_e.iter().map(|v| (v - top).exp()).sum::<f64>() * hx * hy;
    // Beyond each edge cell: ∫₀^∞ p·e^(−s/ℓ) ds = p·ℓ, ℓ from the last two cells' log ratio.
    let tail = |edge: f64, inner: f64, h: f64, span: f64, side: f64| {
        let rate = (inner - edge) / h;
        let decay = if rate > 0.0 {
            (1.0 / rate).min(span)
        } else {
            span
        };
        edge.exp() * decay * side
    };
    let mut beyond = 0.0;
    for k in 0..n {
        let (w, s) = (b[1] - b[0], b[3] - b[2]);
        beyond += tail(log_w(k, 0), log_w(k, 1), hy, s, hx);
        beyond += tail(log_w(k, n - 1), log_w(k, n - 2), hy, s, hx);
        beyond += tail(log_w(0, k), log_w(1, k), hx, w, hy);
        beyond += tail(log_w(n - 1, k), log_w(n - 2, k), hx, w, hy);
    }
    Ok((top + total.ln(), beyond / total))
}

/// The model's density against the data's true one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DensityFit {
    /// log Z of exp(−E) by grid quadrature.
    pub grid: GridLogZ,
    /// Test points (i.i.d. from the data distribution, never trained on).
    pub n_test: usize,
    /// Mean of −E(x) − log Z over the test points (nats per point).
    pub model_log_likelihood: f64,
    /// Mean of the data's true log p(x) over the same points.
    pub true_log_likelihood: f64,
    /// Mean of log p(x) − log q(x): an estimate of KL(data ‖ model) in nats (≥ 0 in
    /// expectation; within a few standard errors of 0 for a perfect model).
    pub kl: f64,
    pub kl_std_err: f64,
}

/// The grid box: the data's plot window widened by half its span on each side, so mass the
/// model leaks beyond the data is counted (and shows in `tail_mass` when it reaches the edge).
pub fn grid_bounds(config: &RunConfig) -> [f64; 4] {
    let b = config.data.plot_bounds().map(f64::from);
    let (wx, wy) = (b[1] - b[0], b[3] - b[2]);
    [
        b[0] - wx / 2.0,
        b[1] + wx / 2.0,
        b[2] - wy / 2.0,
        b[3] + wy / 2.0,
    ]
}

/// [`DensityFit`] for a 2-D energy whose data has a known density; `None` otherwise (images,
/// gradient-field models without energy values, noiseless curves).
pub fn density_fit(
    energy: &dyn Energy,
    config: &RunConfig,
    input_shape: &[usize],
    device: &Device,
) -> Result<Option<DensityFit>> {
    if input_shape != [2] || !energy.has_energy_values() || !config.data.has_log_density() {
        return Ok(None);
    }
    let grid = grid_log_z(energy, grid_bounds(config), GRID_RESOLUTION, device)?;
    let n_test = config.eval.n_samples.max(2);
    let test = config
        .data
        .sample_iid(n_test, &mut rng::stream(config.seed, "eval-density", 0))?;
    let pts: Vec<[f64; 2]> = test.rows().map(|r| [r[0] as f64, r[1] as f64]).collect();
    let log_p = config.data.log_density(&pts)?;
    let e = energy
        .energy(&test.to_tensor(device)?)?
        .to_dtype(candle_core::DType::F64)?
        .to_vec1::<f64>()?;
    // A test point rounded to f32 onto the wrong side of a checkerboard square's edge has
    // log p = −∞ (noise 0); such points (about one in 10⁷) are left out of the averages.
    let (log_p, log_q): (Vec<f64>, Vec<f64>) = log_p
        .iter()
        .zip(&e)
        .filter(|(p, _)| p.is_finite())
        .map(|(p, e)| (*p, -e - grid.log_z))
        .unzip();
    let diffs: Vec<f64> = log_p.iter().zip(&log_q).map(|(p, q)| p - q).collect();
    let n = diffs.len() as f64;
    let kl = diffs.iter().sum::<f64>() / n;
    let var = diffs.iter().map(|d| (d - kl).powi(2)).sum::<f64>() / (n - 1.0);
    Ok(Some(DensityFit {
        grid,
        n_test: diffs.len(),
        model_log_likelihood: log_q.iter().sum::<f64>() / n,
        true_log_likelihood: log_p.iter().sum::<f64>() / n,
        kl,
        kl_std_err: (var / n).sqrt(),
    }))
}
