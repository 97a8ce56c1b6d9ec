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

/// One training iteration of `examples/fashion_mnist.toml` (its model, sampler, loss and
/// optimizer; `benches/compare/fmnist_reference.py` is the PyTorch side): 64 chains drawn from a
/// 5,000-chain replay buffer (5 % restarted from uniform noise), k = 40 Langevin steps, then the
/// parameter update on 64 + 64 images, gradient clipping and the EMA. The data dir is filled in
/// by the workload.
pub const CD_CONV_FMNIST: &str = r#"
seed = 0
[data]
kind = "fashion_mnist"
dir = "DATA_DIR"
[model]
kind = "conv"
activation = "swish"
layers = [
  { channels = 16, kernel = 3, stride = 1, padding = 1 },
  { channels = 32, kernel = 4, stride = 2, padding = 1 },
  { channels = 64, kernel = 4, stride = 2, padding = 1 },
  { channels = 64, kernel = 7, stride = 1, padding = 0 },
]
[sampler]
kind = "langevin"
step_size = 10.0
noise_scale = 0.00112
clamp = [-1.0, 1.0]
[loss]
kind = "contrastive_divergence"
k = 40
buffer_capacity = 5000
reinit_prob = 0.05
init = { kind = "uniform", low = -1.0, high = 1.0 }
energy_reg = 1.0
[optim]
lr = 3e-4
betas = [0.0, 0.999]
grad_clip = 0.1
ema_decay = 0.99
[train]
batch_size = 64
"#;

/// `examples/cifar_ebm.toml` as shipped: the `cd_resnet_cifar` workload sets its batch to 64
/// and its data dir to [`cifar_format_noise`]'s.
pub const CIFAR_EBM: &str = include_str!("../../examples/cifar_ebm.toml");

/// Writes CIFAR-10's six binary files (2,000 records each: a label byte, then 3,072 pixel bytes)
/// of seeded random bytes into `dir`, unless they are there already, and returns `dir`. A
/// training iteration's time does not depend on the images, and the benches must not need the
/// real CIFAR-10 (`benches/compare/torch_igebm.py` trains on uniform noise too).
pub fn cifar_format_noise(dir: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
    use rand::{RngCore as _, SeedableRng};
    const RECORDS: usize = 2000;
    const RECORD: usize = 1 + 3 * 32 * 32;
    std::fs::create_dir_all(dir)?;
    let names = (1..=5)
        .map(|i| format!("data_batch_{i}.bin"))
        .chain(["test_batch.bin".to_string()]);
    for (i, name) in names.enumerate() {
        let path = dir.join(name);
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == (RECORDS * RECORD) as u64) {
            continue;
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(i as u64);
        let mut bytes = vec![0u8; RECORDS * RECORD];
        rng.fill_bytes(&mut bytes);
        for record in bytes.chunks_exact_mut(RECORD) {
            record[0] %= 10; // a label in 0..=9
        }
        // Written whole, then renamed: a concurrent reader never sees a short file.
        let tmp = dir.join(format!(".{}.{}", i, std::process::id()));
        std::fs::write(&tmp, &bytes)?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(dir.to_path_buf())
}
