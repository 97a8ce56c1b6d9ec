//! Built-in samplers, each registered by name for `[sampler] kind = "..."`:
//!
//! - `langevin`: unadjusted Langevin dynamics with scheduled step size and noise.
//!
//! Linking this crate is what makes the names available; [`link`] exists so a binary can force
//! the linker to keep it.

mod langevin;

pub use langevin::{Langevin, LangevinParams};

/// Call once from a binary to make sure this crate's registrations are linked in.
pub fn link() {}
