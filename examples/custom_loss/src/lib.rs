//! A loss written outside ebm's built-ins: the logistic (softplus) contrastive loss, registered
//! as `softplus_contrastive`. The binary (src/main.rs) links it into the launcher; the tests run
//! the conformance kit on it and train from softplus.toml.

mod softplus;

/// Call once (from the binary or a test) so the linker keeps this crate's registration.
pub fn link() {}
