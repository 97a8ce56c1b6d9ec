//! A sampler written outside ebm's built-ins: random-walk Metropolis, registered as
//! `random_walk`. The binary (src/main.rs) links it into the launcher; the tests run the
//! conformance kit on it.

mod random_walk;

/// Call once (from the binary or a test) so the linker keeps this crate's registration.
pub fn link() {}
