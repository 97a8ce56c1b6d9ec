//! `ebm-launch eval --samples FILE.npy`: samples made elsewhere (any library), read with
//! candle's .npy reader (the one whose writer makes the runs' `samples.npy`) and checked against
//! the run's data before anything is scored.
//!
//! Accepted: float32 or float64, C order, shape `[N, ...data shape]` (`[N, 2]` for 2-D data,
//! `[N, 1, 28, 28]` for Fashion-MNIST), or the same samples flattened (`[N, 784]`), or, for
//! one-channel images, without the channel axis (`[N, 28, 28]`); N ≥ 2; every value finite.
//! Images must be scaled as the run's data is, to [−1, 1]; files whose values leave it, or are
//! none of them negative (likely [0, 1] images), are scored as they are, with a warning.

use crate::{Error, Result};
use candle_core::{DType, Tensor};
use std::path::Path;

/// Where the scored samples come from.
pub(super) enum Source<'a> {
    /// Drawn from the model now, as `[eval]` says.
    Model,
    /// Read from this .npy file.
    File(&'a Path),
}

impl<'a> Source<'a> {
    pub fn of(file: Option<&'a Path>) -> Self {
        match file {
            Some(path) => Source::File(path),
            None => Source::Model,
        }
    }

    /// The file's samples, checked ([`read_samples`]); `None` for the model's.
    pub fn read(
        &self,
        data_shape: &[usize],
        model_shape: &[usize],
        images: bool,
    ) -> Result<Option<Tensor>> {
        match self {
            Source::Model => Ok(None),
            Source::File(path) => {
                let x = read_samples(path, data_shape, model_shape, images)?;
                tracing::info!(n = x.dims()[0], file = %path.display(), "scoring samples from a file");
                Ok(Some(x))
            }
        }
    }

    /// `samples_source` in the report: `model`, or `file:PATH`.
    pub fn describe(&self) -> String {
        match self {
            Source::Model => "model".into(),
            Source::File(p) => format!("file:{}", p.display()),
        }
    }

    /// The figures' name for the samples.
    pub fn title(&self) -> String {
        match self {
            Source::Model => "evaluation samples".into(),
            Source::File(p) => match p.file_name() {
                Some(name) => format!("samples of {}", name.to_string_lossy()),
                None => "samples from a file".into(),
            },
        }
    }

    /// How an error names `n` samples: the flag that asked for them, or the file.
    pub fn count(&self, n: usize) -> String {
        match self {
            Source::Model => format!("--n {n}"),
            Source::File(p) => format!("{}: {n} samples", p.display()),
        }
    }
}

/// The samples in `path` as f32 `[N, ...model_shape]`, checked against `data_shape` (the run's
/// `data.sample_shape()`; the model may see the same values flattened, `model_shape`).
fn read_samples(
    path: &Path,
    data_shape: &[usize],
    model_shape: &[usize],
    images: bool,
) -> Result<Tensor> {
    read_points(path, data_shape, model_shape, images, 2, "the distances")
}

/// [`read_samples`] with at least `min_n` rows, for `what` (`ebm-launch energy` scores one
/// point; the distances need two).
pub(crate) fn read_points(
    path: &Path,
    data_shape: &[usize],
    model_shape: &[usize],
    images: bool,
    min_n: usize,
    what: &str,
) -> Result<Tensor> {
    let bad = |message: String| Error::SamplesFile {
        path: path.to_path_buf(),
        message,
    };
    let x = Tensor::read_npy(path).map_err(|e| bad(format!("cannot be read as .npy: {e}")))?;
    if !matches!(x.dtype(), DType::F32 | DType::F64) {
        return Err(bad(format!(
            "dtype {}; samples must be float32 or float64",
            x.dtype().as_str()
        )));
    }
    let dims = x.dims().to_vec();
    if !matches_data_shape(&dims, data_shape) {
        let flat: usize = data_shape.iter().product();
        let hint = match data_shape.len() {
            1 => format!("[N, {flat}]"),
            _ => format!("[N, {}] or [N, {flat}], channels first", join(data_shape)),
        };
        return Err(bad(format!(
            "shape {dims:?} does not match the run's data shape {data_shape:?} (give {hint})"
        )));
    }
    let n = dims[0];
    if n < min_n {
        return Err(bad(format!("{n} samples; {what} need at least {min_n}")));
    }
    let x = x.to_dtype(DType::F32)?;
    let values = x.flatten_all()?.to_vec1::<f32>()?;
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        let per = values.len() / n;
        return Err(bad(format!(
            "value {} of sample {} (flat index {i}) is not finite",
            values[i],
            i / per
        )));
    }
    if images {
        warn_on_range(path, &values);
    }
    let mut target = vec![n];
    target.extend_from_slice(model_shape);
    Ok(x.reshape(target)?)
}

/// `[N, ...data_shape]`, `[N, flat]`, or `data_shape` without leading channel axes of 1.
fn matches_data_shape(dims: &[usize], data_shape: &[usize]) -> bool {
    let Some((_, sample)) = dims.split_first() else {
        return false;
    };
    let flat: usize = data_shape.iter().product();
    let squeezed: &[usize] = {
        let ones = data_shape.iter().take_while(|&&d| d == 1).count();
        &data_shape[ones.min(data_shape.len().saturating_sub(1))..]
    };
    sample == data_shape || sample == [flat] || sample == squeezed
}

fn join(shape: &[usize]) -> String {
    shape
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The run's images are scaled to [−1, 1]: say so when the file's values are not.
fn warn_on_range(path: &Path, values: &[f32]) {
    let (lo, hi) = values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let slack = 1e-3;
    if lo < -1.0 - slack || hi > 1.0 + slack {
        tracing::warn!(
            file = %path.display(),
            "sample values span [{lo}, {hi}]; the run's images are scaled to [-1, 1]"
        );
    } else if lo >= 0.0 {
        tracing::warn!(
            file = %path.display(),
            "sample values span [{lo}, {hi}], none negative: the run's images are scaled to \
             [-1, 1] (were these [0, 1] images?)"
        );
    }
}
