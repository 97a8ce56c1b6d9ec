//! Shared setup for the benches: the anchor's MLP (2-128-128-1, SiLU) and a two-moons PCD run
//! configured like TorchEBM's bench (c) in shared/anchors/torchebm.

use candle_core::Device;
use ebm_core::{rng, Model};
use ebm_models::{Mlp, MlpConfig};

pub mod workloads;

// Binaries (benches included) use mimalloc as ebm-launch does; see launch/src/lib.rs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The anchor MLP with seeded weights.
pub fn anchor_mlp() -> Box<dyn Model> {
    let mut r = rng::stream(0, "init", 0);
    Box::new(Mlp::new(&MlpConfig::default(), 2, &mut r, &Device::Cpu).expect("valid MLP"))
}

/// Bench (c) of the anchor: two moons, batch 256, k = 10 Langevin steps at η = 0.01, PCD with a
/// 10,000-chain buffer, Adam 1e-3.
pub const PCD_TWO_MOONS: &str = r#"
seed = 0
[data]
kind = "two_moons"
n_samples = 3000
[sampler]
kind = "langevin"
step_size = 0.01
[loss]
kind = "contrastive_divergence"
k = 10
buffer_capacity = 10000
[train]
batch_size = 256
"#;
