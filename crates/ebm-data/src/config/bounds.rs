//! Plot windows. Each dataset knows the box its noiseless shape lives in; the margin adds four
//! noise standard deviations (so nearly every noisy point stays inside) and 5% of the span (so
//! points on the edge are not drawn on the frame).

use super::{
    Checkerboard, Circles, DataConfig, EightGaussians, GaussianMixture, Pinwheel, SwissRoll,
    TwoMoons, TwoSpirals,
};
use crate::toy::{swiss_roll, two_spirals};

/// `[x_min, x_max, y_min, y_max]` of `shape`, widened by the margin for noise `spread`.
fn padded(shape: [f64; 4], spread: f64) -> [f32; 4] {
    let [x0, x1, y0, y1] = shape;
    let pad = 4.0 * spread + 0.05 * (x1 - x0).max(y1 - y0);
    [
        (x0 - pad) as f32,
        (x1 + pad) as f32,
        (y0 - pad) as f32,
        (y1 + pad) as f32,
    ]
}

/// The square `[-r, r]^2`.
fn square(r: f64) -> [f64; 4] {
    [-r, r, -r, r]
}

impl DataConfig {
    /// Axis-aligned box `[x_min, x_max, y_min, y_max]` that holds the data with a margin, for
    /// plots. Meaningful for a configuration that passes [`DataConfig::validate`], and only for
    /// the planar sets: for images it is the pixel range `[-1, 1]` on both axes (a window that
    /// shows a pair of pixel values), and a 2-D landscape plot of an image model is meaningless.
    pub fn plot_bounds(&self) -> [f32; 4] {
        match *self {
            DataConfig::FashionMnist(_) | DataConfig::Cifar10(_) => [-1.0, 1.0, -1.0, 1.0],
            DataConfig::TwoMoons(TwoMoons { noise, .. }) => padded([-1.0, 2.0, -0.5, 1.0], noise),
            DataConfig::EightGaussians(EightGaussians { std, scale, .. }) => {
                padded(square(scale), std)
            }
            DataConfig::GaussianMixture(GaussianMixture { std, radius, .. }) => {
                padded(square(radius), std)
            }
            DataConfig::SwissRoll(SwissRoll {
                noise, arclength, ..
            }) => {
                // The curve stays within radius t_max of the origin; map that square through
                // the same normalisation as the points.
                let Some(norm) = swiss_roll::normalisation(arclength, noise) else {
                    return padded(square(1.0), 0.0);
                };
                let (_, t_max) = swiss_roll::t_range(arclength);
                let [mx, my] = norm.mean;
                let s = norm.scale;
                let shape = [
                    (-t_max - mx) / s,
                    (t_max - mx) / s,
                    (-t_max - my) / s,
                    (t_max - my) / s,
                ];
                padded(shape, noise / s)
            }
            DataConfig::Circles(Circles { noise, radius, .. }) => padded(square(radius), noise),
            DataConfig::Checkerboard(Checkerboard {
                range_limit, noise, ..
            }) => padded(square(range_limit), noise),
            DataConfig::Pinwheel(Pinwheel {
                noise,
                radial_scale,
                ..
            }) => padded(square(radial_scale), noise),
            DataConfig::TwoSpirals(TwoSpirals { noise, .. }) => {
                // |(-cos s) s + 0.5 U| <= 3 pi + 0.5 before the division by 3.
                padded(square((two_spirals::MAX_TURN + 0.5) / 3.0), noise)
            }
        }
    }
}
