//! A short denoising-score-matching run on two moons, through the trainer, brings Langevin samples
//! from noise well below the noise level in MMD².

use ebm_eval::EvalHooks;
use ebm_train::{load, Start, Trainer};

const CONFIG: &str = r#"
seed = 1
[data]
kind = "two_moons"
n_samples = 2000
[model]
kind = "mlp"
hidden = [64, 64]
[loss]
kind = "denoising_score_matching"
sigma = 0.1
[train]
steps = 300
batch_size = 128
log_every = 50
plot_every = 0
checkpoint_every = 300
[eval]
n_samples = 1000
steps = 300
"#;

#[test]
fn short_dsm_run_on_two_moons_lowers_mmd_well_below_noise() {
    ebm_samplers::link();
    ebm_losses::link();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.toml");
    std::fs::write(&path, CONFIG).unwrap();
    let loaded = load(&path, &[]).unwrap();
    let summary = Trainer::new(&loaded, &dir.path().join("run"), Start::Fresh)
        .unwrap()
        .run(&mut EvalHooks::new())
        .unwrap();
    let e = summary.eval;
    assert!(e.mmd2_init > 0.06, "{e:?}");
    assert!(
        e.mmd2 < 0.3 * e.mmd2_init,
        "MMD² {} did not fall well below the noise level {}",
        e.mmd2,
        e.mmd2_init
    );
}
