//! Whole training runs with the evaluation plugged in ([`EvalHooks`]): a short PCD run on two
//! moons learns (its `eval.json` MMD² falls well below the noise level), and on a multi-rank run
//! rank 0 alone writes `samples.npy` and `eval.json` while every rank returns the same report.

use ebm_dist::{Collective, LocalGroup};
use ebm_eval::{EvalHooks, EvalReport};
use ebm_train::{load, LoadedConfig, Start, Trainer};
use std::path::Path;
use std::sync::Arc;

fn config(dir: &Path, text: &str) -> std::path::PathBuf {
    ebm_samplers::link();
    ebm_losses::link();
    let p = dir.join("run.toml");
    std::fs::write(&p, text).unwrap();
    p
}

const TWO_MOONS: &str = r#"
seed = 1
[data]
kind = "two_moons"
n_samples = 2000
[loss]
kind = "contrastive_divergence"
k = 10
energy_reg = 0.1
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
fn short_pcd_run_on_two_moons_lowers_mmd_well_below_noise() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(&config(dir.path(), TWO_MOONS), &[]).unwrap();
    let summary = Trainer::new(&loaded, &dir.path().join("run"), Start::Fresh)
        .unwrap()
        .run(&mut EvalHooks::new())
        .unwrap();
    let e = summary.eval;
    // Noise vs data is ≈ 0.08; an untrained (flat) model leaves samples as diffuse as noise.
    assert!(e.mmd2_init > 0.06, "{e:?}");
    assert!(
        e.mmd2 < 0.3 * e.mmd2_init,
        "MMD² {} did not fall well below the noise level {}",
        e.mmd2,
        e.mmd2_init
    );
}

/// Each rank's report, from trainers driven by hand over one group; ranks other than 0 are
/// given `elsewhere` as their run folder.
fn reports(loaded: &LoadedConfig, run: &Path, elsewhere: &Path, ranks: usize) -> Vec<EvalReport> {
    ebm_core::ensure_double_backward();
    std::thread::scope(|s| {
        let threads: Vec<_> = LocalGroup::new(ranks)
            .into_iter()
            .map(|c| {
                s.spawn(move || {
                    let dir = if c.rank() == 0 { run } else { elsewhere };
                    let coll: Arc<dyn Collective> = Arc::new(c);
                    Trainer::new_distributed(loaded, dir, Start::Fresh, coll)
                        .and_then(|mut t| t.run(&mut EvalHooks::new()))
                        .unwrap()
                        .eval
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    })
}

#[test]
fn on_many_ranks_rank_0_evaluates_and_every_rank_gets_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let sets = [
        "train.steps=6",
        "train.checkpoint_every=6",
        "train.plot_every=3",
        "eval.n_samples=64",
        "eval.steps=5",
    ]
    .map(String::from);
    let loaded = load(&config(dir.path(), TWO_MOONS), &sets).unwrap();
    let (run, elsewhere) = (dir.path().join("run"), dir.path().join("not-rank-0"));
    let reports = reports(&loaded, &run, &elsewhere, 2);
    assert!(
        !elsewhere.exists(),
        "a rank other than 0 wrote its run folder"
    );
    for file in [
        "samples.npy",
        "eval.json",
        "plots/landscape_step_0000003.png",
    ] {
        assert!(run.join(file).is_file(), "{file}");
    }
    // (Compared as text: serde_json's float parsing is not exact in the last digit.)
    let written = std::fs::read_to_string(run.join("eval.json")).unwrap();
    assert_eq!(serde_json::to_string_pretty(&reports[0]).unwrap(), written);
    assert_eq!(
        reports[1], reports[0],
        "rank 1 got another report than rank 0 wrote"
    );
}
