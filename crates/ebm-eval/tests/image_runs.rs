//! Image runs end to end on generated CIFAR-format files: a spectrally normalised conv energy
//! trains with PCD and finite energies and writes its replay-buffer and sample grids (at
//! intervals and at the end), and a checkpoint resumes to the identical next steps,
//! power-iteration vectors included (they are saved as `buffers.*`).

use candle_core::Device;
use ebm_eval::EvalHooks;
use ebm_train::{checkpoint, load, LoadedConfig, Start, Trainer};
use std::path::Path;

const CONFIG: &str = r#"
seed = 3
[data]
kind = "cifar10"
dir = "DATA"
flip = true
[model]
kind = "conv"
activation = "swish"
spectral_norm = true
layers = [
  { channels = 4, kernel = 3, stride = 2, padding = 1 },
  { channels = 8, kernel = 3, stride = 2, padding = 1 },
]
[sampler]
kind = "langevin"
step_size = 10.0
noise_scale = 0.0005
clamp = [-1.0, 1.0]
[loss]
kind = "contrastive_divergence"
k = 3
buffer_capacity = 40
reinit_prob = 0.05
init = { kind = "uniform", low = -1.0, high = 1.0 }
[train]
steps = 4
batch_size = 8
log_every = 1
plot_every = 2
checkpoint_every = 2
keep_checkpoints = 5
[eval]
n_samples = 8
steps = 2
init = { kind = "uniform", low = -1.0, high = 1.0 }
"#;

fn loaded(dir: &Path, sets: &[&str]) -> LoadedConfig {
    ebm_samplers::link();
    ebm_losses::link();
    let data = dir.join("cifar");
    ebm_data::write_synthetic_cifar(&data, 8, 12345).unwrap();
    let p = dir.join("run.toml");
    std::fs::write(&p, CONFIG.replace("DATA", data.to_str().unwrap())).unwrap();
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    load(&p, &sets).unwrap()
}

fn newest(dir: &Path) -> checkpoint::Checkpoint {
    let (_, path) = checkpoint::list(&dir.join("checkpoints"))
        .unwrap()
        .pop()
        .unwrap();
    checkpoint::load(&path, &Device::Cpu).unwrap()
}

#[test]
fn a_spectral_norm_conv_run_resumes_to_the_identical_next_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    let summary = Trainer::new(&loaded(tmp.path(), &[]), &whole, Start::Fresh)
        .and_then(|mut t| t.run(&mut EvalHooks::new()))
        .unwrap();
    assert_eq!(summary.steps, 4);
    assert!(summary.eval.mmd2.is_finite());
    for figure in [
        "chains_step_0000002.png",
        "samples_step_0000002.png",
        "samples_final.png",
        "energy_hist.png",
    ] {
        let path = whole.join("plots").join(figure);
        let png = image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(png.width() > 100 && png.height() > 100, "{figure}");
    }

    let split = tmp.path().join("split");
    Trainer::new(
        &loaded(tmp.path(), &["train.steps=2"]),
        &split,
        Start::Fresh,
    )
    .and_then(|mut t| t.run(&mut EvalHooks::new()))
    .unwrap();
    Trainer::new(&loaded(tmp.path(), &[]), &split, Start::Resume)
        .and_then(|mut t| t.run(&mut EvalHooks::new()))
        .unwrap();

    let (a, b) = (newest(&whole), newest(&split));
    let buffers: Vec<&String> = a
        .tensors
        .keys()
        .filter(|k| k.starts_with("buffers."))
        .collect();
    assert!(
        buffers.len() >= 6,
        "u and v of 2 convs and the head: {buffers:?}"
    );
    for (key, t) in &a.tensors {
        let u = t.flatten_all().unwrap().to_vec1::<f32>();
        let v = b.tensors[key].flatten_all().unwrap().to_vec1::<f32>();
        if let (Ok(u), Ok(v)) = (u, v) {
            assert_eq!(u, v, "{key} differs after resume");
        }
    }
    let metrics = |d: &Path| std::fs::read_to_string(d.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics(&whole), metrics(&split));
    assert!(!metrics(&whole).contains("NaN"));
}
