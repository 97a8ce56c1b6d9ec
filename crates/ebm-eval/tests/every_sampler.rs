//! Every registered sampler can be picked in TOML (`[sampler] kind = "..."`) with its default
//! parameters and serve as the negative sampler of contrastive divergence and as the evaluation
//! sampler: a few training steps run, energies stay finite, and samples come out.

use ebm_core::sampler_names;
use ebm_eval::EvalHooks;
use ebm_train::{load, Start, Trainer};

const CONFIG: &str = r#"
seed = 5
[data]
kind = "two_moons"
n_samples = 256
[model]
kind = "mlp"
hidden = [16, 16]
[loss]
kind = "contrastive_divergence"
k = 3
buffer_capacity = 200
[train]
steps = 4
batch_size = 32
log_every = 1
plot_every = 0
checkpoint_every = 4
[eval]
n_samples = 50
steps = 10
"#;

#[test]
fn every_sampler_trains_and_samples_from_toml() {
    ebm_samplers::link();
    ebm_losses::link();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.toml");
    std::fs::write(&path, CONFIG).unwrap();
    let names = sampler_names();
    assert!(names.contains(&"langevin"));
    for name in names {
        let loaded = load(&path, &[format!("sampler={{kind=\"{name}\"}}")])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = dir.path().join(name);
        let summary = Trainer::new(&loaded, &out, Start::Fresh)
            .and_then(|mut t| t.run(&mut EvalHooks::new()))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(summary.steps, 4, "{name}");
        assert!(summary.eval.mmd2.is_finite(), "{name}");
        assert!(out.join("samples.npy").exists(), "{name}");
    }
}
