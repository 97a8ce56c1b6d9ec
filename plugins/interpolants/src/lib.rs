//! Built-in interpolants x_t = α(t)·x₁ + σ(t)·x₀ (x₀ noise, x₁ data, t = 1 is data), each with
//! closed-form α, σ and their time derivatives, registered by name:
//!
//! - [`Linear`] (`linear`): α = t, σ = 1 − t, the rectified-flow / optimal-transport path.
//! - [`Cosine`] (`cosine`): α = sin(πt/2), σ = cos(πt/2), variance preserving for unit x₀, x₁.
//! - [`VariancePreserving`] (`variance_preserving`): the score-SDE VP schedule with linear β.
//!
//! All coefficients are computed elementwise on the `[B]` time tensor, in its dtype.

mod cosine;
mod linear;
mod vp;

pub use cosine::Cosine;
pub use linear::Linear;
pub use vp::{VariancePreserving, VpParams};

use ebm_core::{Error, PluginArgs, Result};
use serde::Deserialize;

/// Call once from a binary to make sure this crate's registrations are linked in.
pub fn link() {}

/// Parameters of an interpolant that has none: still rejects unknown keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

fn no_params(args: &PluginArgs) -> Result<()> {
    args.parse::<NoParams>().map(|_| ())
}

/// `t` must be a rank-1 `[B]` tensor; naming the shape beats a broadcast error deep in candle.
fn check_t(t: &candle_core::Tensor) -> Result<()> {
    if t.rank() != 1 {
        return Err(Error::shape(
            "interpolant times",
            format!("expected [B], got {:?}", t.dims()),
        ));
    }
    Ok(())
}
