//! Issue 17, D9: non-finite samples or metrics never exit 0, and `sample`, `eval` and `energy`
//! refuse a checkpoint whose weights are NaN or infinite, naming the tensor.

mod common;

use candle_core::{Device, Tensor};
use common::{launch, stderr, train_small, trained};

#[test]
fn a_run_whose_samples_blow_up_exits_1_and_still_writes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    // Training is fine; the evaluation sampler's step overflows f32, so every sample is inf/NaN.
    let o = train_small(
        tmp.path(),
        &[
            "--set",
            "train.plot_every=0",
            "--set",
            "eval.sampler={kind=\"langevin\",step_size=1e300}",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("samples.npy") && err.contains("NaN or infinite"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // What could be written was written.
    assert!(run.join("samples.npy").is_file() && run.join("eval.json").is_file());

    // `eval` draws with the same sampler: its report is written, and it exits 1 too.
    let o = launch(&["eval", run.to_str().unwrap(), "--n", "50"], &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("NaN or infinite"), "{err}");
    assert!(run.join("evaluation/report.json").is_file());
    // A size that cannot fit is refused before anything is drawn (it used to abort).
    let o = launch(
        &["eval", run.to_str().unwrap(), "--n", "1000000000000"],
        &[],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("eval.n_samples") && err.contains("memory"),
        "{err}"
    );
}

#[test]
fn sample_eval_and_energy_refuse_nan_weights_naming_the_tensor() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained(tmp.path());
    let dir = run.join("checkpoints");
    let (step, newest) = ebm_train::checkpoint::list(&dir).unwrap().pop().unwrap();
    let mut ckpt = ebm_train::checkpoint::load(&newest, &Device::Cpu).unwrap();
    let name = {
        let mut names: Vec<&String> = ckpt
            .tensors
            .keys()
            .filter(|n| n.starts_with("model."))
            .collect();
        names.sort();
        names[0].clone()
    };
    let poisoned: Tensor = ckpt.tensors[&name].affine(0.0, f64::NAN).unwrap();
    ckpt.tensors.insert(name.clone(), poisoned);
    ebm_train::checkpoint::save(&dir, step, &ckpt).unwrap();

    let points = tmp.path().join("points.npy");
    Tensor::from_vec(vec![0.0f32, 0.0, 1.0, 0.5], (2, 2), &Device::Cpu)
        .unwrap()
        .write_npy(&points)
        .unwrap();
    let out = tmp.path().join("e.npy");
    let runs = run.to_str().unwrap();
    for args in [
        vec!["sample", runs, "--n", "20", "--steps", "5"],
        vec!["eval", runs],
        vec![
            "energy",
            runs,
            "--points",
            points.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    ] {
        let o = launch(&args, &[]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&name) && err.contains("non-finite"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("base_std"), "{args:?}: {err}");
    }
    assert!(!out.exists());
}
