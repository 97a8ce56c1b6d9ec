//! The energies the writer logs as histograms at each log step: E of a fixed slice of the
//! training data and E of the first persistent chains. Fixed slices, no random draw: logging must
//! not move any random stream, or a seeded run would train differently with TensorBoard on.

use crate::{Result, TrainState};
use candle_core::{DType, Tensor};

/// How many data points (and chains) the histograms are made of, at most.
pub const HISTOGRAM_POINTS: usize = 256;

/// Tag of the histogram of E over the first training points.
pub const DATA_TAG: &str = "energy/data";
/// Tag of the histogram of E over the first persistent chains.
pub const SAMPLES_TAG: &str = "energy/samples";

/// `(tag, energies)`: E of the first [`HISTOGRAM_POINTS`] points of this rank's training data
/// and, when the loss keeps a chain bank, of its first [`HISTOGRAM_POINTS`] chains. Nothing for a
/// model without energy values (a vector-field network). The model is evaluated through its
/// detached view, which leaves every buffer (spectral normalisation's vectors) as it is.
pub fn energy_histograms(state: &TrainState) -> Result<Vec<(&'static str, Vec<f64>)>> {
    if !state.model.has_energy_values() {
        return Ok(Vec::new());
    }
    let energy = state.model.detached();
    let values = |x: &Tensor| -> Result<Vec<f64>> {
        Ok(energy
            .energy(x)?
            .to_dtype(DType::F64)?
            .flatten_all()?
            .to_vec1::<f64>()?)
    };
    let mut out = Vec::new();
    let points = state.batcher.points();
    let n = points.len().min(HISTOGRAM_POINTS);
    if n > 0 {
        let mut dims = vec![n];
        dims.extend_from_slice(&points.shape);
        let x = Tensor::from_slice(&points.data[..n * points.dim], dims, &state.device)?;
        out.push((DATA_TAG, values(&x)?));
    }
    if let Some(bank) = state.loss.chain_bank() {
        if bank.capacity() > 0 {
            out.push((
                SAMPLES_TAG,
                values(&bank.first(HISTOGRAM_POINTS, &state.device)?)?,
            ));
        }
    }
    Ok(out)
}
