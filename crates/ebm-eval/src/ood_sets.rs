//! Out-of-distribution image sets made from test images, for the OOD AUROC of −E(x): each keeps
//! something of the data and breaks something else.
//!
//! - [`gaussian_blur`] keeps each image's layout and mean and removes its fine detail: a
//!   separable Gaussian blur over the last two axes (height, width) of every channel. Borders are
//!   mirrored with the edge pixel repeated (`d c b a | a b c d`: scipy.ndimage's `reflect`,
//!   numpy.pad's `symmetric`), so no background value is invented at the border and, the kernel
//!   being symmetric and normalised, the blur preserves each image's sum exactly.
//! - [`pixel_shuffle`] keeps each image's pixel values (its histogram) and destroys its layout:
//!   the H·W pixel positions of each image are permuted by a permutation of its own, the
//!   channels of a pixel moving together. Seeded: image `i` draws its permutation from
//!   `ebm_core::rng::stream(seed, "eval-ood-shuffle", i)`, a stream no other part of the
//!   evaluation uses.

use crate::Result;
use candle_core::{DType, Tensor};
use ebm_core::{rng, Error as CoreError};
use ebm_data::fisher_yates;

/// σ of the evaluation's blurred OOD set, in pixels.
pub const BLUR_SIGMA: f64 = 1.0;
/// Half-width of its kernel: taps at −3..=3.
pub const BLUR_RADIUS: usize = 3;
/// The random stream of [`pixel_shuffle`] (one stream index per image).
pub const SHUFFLE_STREAM: &str = "eval-ood-shuffle";

/// `[N, ..., H, W]` images as (values, planes of H×W, H, W); at least 3 axes.
fn planes(images: &Tensor, what: &str) -> Result<(Vec<f32>, usize, usize)> {
    let dims = images.dims();
    if dims.len() < 3 {
        return Err(CoreError::shape(
            what,
            format!("needs images [N, ..., H, W], got shape {dims:?}"),
        )
        .into());
    }
    let (h, w) = (dims[dims.len() - 2], dims[dims.len() - 1]);
    let values = images
        .to_dtype(DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    Ok((values, h, w))
}

/// The normalised Gaussian taps exp(−k²/2σ²) for k = −radius..=radius.
fn gaussian_kernel(sigma: f64, radius: usize) -> Result<Vec<f64>> {
    if !(sigma > 0.0 && sigma.is_finite()) {
        return Err(CoreError::invalid_argument("gaussian_blur", format!("σ = {sigma}")).into());
    }
    let r = radius as f64;
    let taps: Vec<f64> = (0..=2 * radius)
        .map(|i| (-(i as f64 - r).powi(2) / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f64 = taps.iter().sum();
    Ok(taps.into_iter().map(|t| t / total).collect())
}

/// Index `i` of an axis of length `len` after half-sample symmetric reflection (period 2·len).
fn reflect(i: isize, len: usize) -> usize {
    let period = 2 * len as isize;
    let m = i.rem_euclid(period);
    match m < len as isize {
        true => m as usize,
        false => (period - 1 - m) as usize,
    }
}

/// One 1-D pass over `len` values `stride` apart, starting at `start`.
fn blur_line(v: &mut [f32], start: usize, stride: usize, len: usize, taps: &[f64]) {
    let radius = (taps.len() / 2) as isize;
    let line: Vec<f64> = (0..len).map(|i| f64::from(v[start + i * stride])).collect();
    for i in 0..len {
        let sum: f64 = taps
            .iter()
            .enumerate()
            .map(|(k, t)| t * line[reflect(i as isize + k as isize - radius, len)])
            .sum();
        v[start + i * stride] = sum as f32;
    }
}

/// Images `[N, ..., H, W]` blurred by a Gaussian of `sigma` pixels, taps −radius..=radius,
/// along the height and then the width of every plane (see the module docs for the borders).
/// Returns f32 images of the same shape.
pub fn gaussian_blur(images: &Tensor, sigma: f64, radius: usize) -> Result<Tensor> {
    let taps = gaussian_kernel(sigma, radius)?;
    let (mut v, h, w) = planes(images, "gaussian_blur")?;
    for plane in v.chunks_mut((h * w).max(1)) {
        for col in 0..w {
            blur_line(plane, col, w, h, &taps);
        }
        for row in 0..h {
            blur_line(plane, row * w, 1, w, &taps);
        }
    }
    Ok(Tensor::from_vec(v, images.dims(), images.device())?)
}

/// Images `[N, C..., H, W]` with each image's H·W pixel positions permuted by its own seeded
/// permutation (the same one for all its channels). Returns f32 images of the same shape.
pub fn pixel_shuffle(images: &Tensor, seed: u64) -> Result<Tensor> {
    let (v, h, w) = planes(images, "pixel_shuffle")?;
    let n = images.dims()[0];
    let per_image = v.len() / n.max(1);
    let positions = h * w;
    let mut out = Vec::with_capacity(v.len());
    for (i, image) in v.chunks(per_image.max(1)).enumerate() {
        let index = u32::try_from(i).map_err(|_| {
            CoreError::invalid_argument("pixel_shuffle", format!("{n} images; at most 2³² − 1"))
        })?;
        let mut perm: Vec<usize> = (0..positions).collect();
        fisher_yates(&mut perm, &mut rng::stream(seed, SHUFFLE_STREAM, index));
        for plane in image.chunks(positions.max(1)) {
            out.extend(perm.iter().map(|&p| plane[p]));
        }
    }
    Ok(Tensor::from_vec(out, images.dims(), images.device())?)
}
