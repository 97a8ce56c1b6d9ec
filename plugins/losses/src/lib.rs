//! Built-in losses, each registered by name for `[loss] kind = "..."`:
//!
//! - `contrastive_divergence`: CD-k and persistent CD with a replay buffer and energy L2
//!   regularisation, and the KL term of Improved CD (`kl_weight`).
//! - `score_matching`: Hyvärinen's objective, exact or Hutchinson Hessian trace.
//! - `sliced_score_matching`: the variance-reduced sliced objective (Song et al. 2019).
//! - `denoising_score_matching`: one noise level or a geometric ladder (Vincent; Song & Ermon).
//! - `equilibrium_matching`: one time-invariant gradient field whose descent carries noise to
//!   data (EqM), energy- or field-parameterised.
//! - `flow_matching`: the velocity of an interpolant's path, for the `flow` sampler.
//! - `nce`: noise-contrastive estimation against a Gaussian or mixture noise fitted to the data;
//!   no sampling, and exp(−E) comes out normalised.
//!
//! Linking this crate is what makes the names available; [`link`] exists so a binary can force
//! the linker to keep it.

mod augment;
mod contrastive_divergence;
mod denoising_score_matching;
mod equilibrium_matching;
mod flow_matching;
pub mod kl;
mod nce;
pub mod nce_noise;
mod path;
mod score_matching;
mod sliced_score_matching;

pub use augment::AugmentParams;
pub use contrastive_divergence::{CdParams, ContrastiveDivergence};
pub use denoising_score_matching::{DenoisingScoreMatching, DsmParams, SigmaLadder};
pub use equilibrium_matching::{EqmParams, EquilibriumMatching, GradientScale};
pub use flow_matching::{FlowMatching, FlowMatchingParams};
pub use nce::{Nce, NceParams};
pub use path::TimeSampler;
pub use score_matching::{Hessian, ScoreMatching, ScoreMatchingParams};
pub use sliced_score_matching::{Projection, SlicedParams, SlicedScoreMatching};

/// Call once from a binary to make sure this crate's registrations are linked in, and those of
/// the interpolants flow and equilibrium matching build by name.
pub fn link() {
    ebm_interpolants::link();
}
