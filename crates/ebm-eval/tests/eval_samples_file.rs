//! `evaluate_run` with `samples` (`ebm-launch eval --samples FILE.npy`): a file of N samples is
//! scored as `--n N` scores the model's own. The run's own `samples.npy` reproduces the model
//! evaluation's sample metrics exactly (2-D and images, either image layout, f32 or f64); fresh
//! data scores at the floor and N(0, I) noise at the ceiling; the model-only numbers (AIS, OOD
//! AUROC, the replay buffer's) are those of `--n N`; bad files are user errors naming the file.

mod common;

use candle_core::{DType, Device, Tensor};
use ebm_core::rng;
use ebm_eval::ais::AisConfig;
use ebm_eval::classifier::ClassifierConfig;
use ebm_eval::{evaluate_run, EvalRunOptions, EvalRunReport};
use ebm_train::load;
use std::path::{Path, PathBuf};

/// Two moons, trained briefly: the model's quality does not matter here.
const TWO_MOONS: &str = r#"
seed = 4
[data]
kind = "two_moons"
n_samples = 1000
[model]
kind = "mlp"
hidden = [32, 32]
[sampler]
kind = "langevin"
step_size = 0.01
[loss]
kind = "contrastive_divergence"
k = 5
buffer_capacity = 500
[train]
steps = 30
batch_size = 64
plot_every = 0
checkpoint_every = 30
[eval]
n_samples = 400
steps = 20
"#;

fn ais() -> AisConfig {
    AisConfig {
        chains: 32,
        temperatures: 100,
        ..AisConfig::default()
    }
}

/// Evaluates `run` with the samples of `file` (or the model's, with `n`), into `out`.
fn eval(run: &Path, file: Option<&Path>, n: Option<usize>, out: &str) -> EvalRunReport {
    let opts = EvalRunOptions {
        samples: file.map(Path::to_path_buf),
        n,
        ais: ais(),
        out_dir: Some(run.join(out)),
        ..EvalRunOptions::default()
    };
    evaluate_run(run, &opts).unwrap().0
}

#[test]
fn a_2d_file_is_scored_against_the_floor_and_the_ceiling() {
    let tmp = tempfile::tempdir().unwrap();
    let run = common::train(tmp.path(), TWO_MOONS);

    // The run's own samples.npy scores exactly what the model's evaluation scores.
    let model = eval(&run, None, None, "model");
    let own = eval(&run, Some(&run.join("samples.npy")), None, "own");
    assert_eq!(model.samples_source, "model");
    assert_eq!(
        own.samples_source,
        format!("file:{}", run.join("samples.npy").display())
    );
    assert!(own.sampler.is_none() && model.sampler.is_some());
    let (m, o) = (&model.samples, &own.samples);
    assert_eq!((o.n_samples, o.steps, o.mean_acceptance), (400, 0, None));
    assert_eq!(
        (
            o.mmd2,
            o.energy_distance,
            o.mmd2_floor,
            o.mmd2_init,
            o.mmd2_chains
        ),
        (
            m.mmd2,
            m.energy_distance,
            m.mmd2_floor,
            m.mmd2_init,
            m.mmd2_chains
        )
    );
    let (lm, lo) = (model.likelihood.unwrap(), own.likelihood.unwrap());
    assert_eq!(
        (lo.log_z, lo.mean_log_likelihood, lo.n_test),
        (lm.log_z, lm.mean_log_likelihood, 400)
    );
    let json = std::fs::read_to_string(run.join("own").join("report.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(json["samples_source"]
        .as_str()
        .unwrap()
        .starts_with("file:"));
    assert!(json.get("sampler").is_none(), "{json}");

    // 300 fresh data points (f32) sit at the floor; 300 N(0, I) points (f64) at the ceiling.
    let n = 300;
    let config = load(&run.join("config.toml"), &[]).unwrap().config;
    let fresh = config
        .data
        .sample(n, &mut rng::stream(11, "test-fresh", 0))
        .unwrap()
        .to_tensor(&Device::Cpu)
        .unwrap();
    let fresh_file = tmp.path().join("fresh.npy");
    fresh.write_npy(&fresh_file).unwrap();
    let noise = rng::normal_vec(&mut rng::stream(11, "test-noise", 0), 2 * n);
    let noise = Tensor::from_vec(noise, (n, 2), &Device::Cpu).unwrap();
    let noise_file = tmp.path().join("noise.npy");
    noise
        .to_dtype(DType::F64)
        .unwrap()
        .write_npy(&noise_file)
        .unwrap();
    let f = eval(&run, Some(&fresh_file), None, "fresh").samples;
    let z = eval(&run, Some(&noise_file), None, "noise").samples;
    assert!(f.mmd2_init > 0.03, "{f:?}");
    assert!((f.mmd2 - f.mmd2_floor).abs() < 0.1 * f.mmd2_init, "{f:?}");
    assert!((z.mmd2 - z.mmd2_init).abs() < 0.25 * z.mmd2_init, "{z:?}");

    // Model-only numbers are those of `--n 300`; so are the floor and the ceiling.
    let at_n = eval(&run, None, Some(n), "at_n");
    let (a, l) = (&at_n.samples, at_n.likelihood.as_ref().unwrap());
    assert_eq!(
        (f.mmd2_floor, f.mmd2_init, f.mmd2_chains),
        (a.mmd2_floor, a.mmd2_init, a.mmd2_chains)
    );
    let lf = eval(&run, Some(&fresh_file), None, "fresh")
        .likelihood
        .unwrap();
    assert_eq!(
        (lf.log_z, lf.mean_log_likelihood),
        (l.log_z, l.mean_log_likelihood)
    );
}

#[test]
fn an_image_file_in_either_layout_scores_as_the_model_samples_do() {
    let tmp = tempfile::tempdir().unwrap();
    let run = common::tiny_image_run(tmp.path());
    let opts = |samples: Option<PathBuf>, out: &str| EvalRunOptions {
        samples,
        classifier: Some(tmp.path().join("classifier.safetensors")),
        classifier_config: ClassifierConfig {
            hidden: vec![16],
            epochs: 1,
            ..ClassifierConfig::default()
        },
        out_dir: Some(run.join(out)),
        ..EvalRunOptions::default()
    };
    let model = evaluate_run(&run, &opts(None, "model")).unwrap().0;
    // The run's samples.npy holds them flat, [16, 3072] f32; write them again as [16, 3, 32, 32]
    // f64: both layouts and dtypes give the same numbers as the model's evaluation.
    let flat = run.join("samples.npy");
    let x = Tensor::read_npy(&flat).unwrap();
    assert_eq!(x.dims(), [16, 3072]);
    let chw = tmp.path().join("chw.npy");
    x.reshape((16, 3, 32, 32))
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
        .write_npy(&chw)
        .unwrap();
    let m = model.images.as_ref().unwrap();
    for (file, out) in [(flat, "flat"), (chw, "chw")] {
        let r = evaluate_run(&run, &opts(Some(file.clone()), out))
            .unwrap()
            .0;
        assert_eq!(r.samples_source, format!("file:{}", file.display()));
        let i = r.images.as_ref().unwrap();
        assert_eq!(
            (i.n, i.fid, i.kid, i.fid_floor),
            (m.n, m.fid, m.kid, m.fid_floor)
        );
        assert_eq!((i.fid_chains, i.kid_noise), (m.fid_chains, m.kid_noise));
        let (c, d) = (&i.mode_coverage, &m.mode_coverage);
        assert_eq!(
            (&c.samples, &c.chains, &c.test),
            (&d.samples, &d.chains, &d.test)
        );
        let (o, p) = (i.ood_auroc.as_ref().unwrap(), m.ood_auroc.as_ref().unwrap());
        assert_eq!(
            (
                o.uniform_noise,
                o.vertical_flip,
                o.gaussian_blur,
                o.pixel_shuffle
            ),
            (
                p.uniform_noise,
                p.vertical_flip,
                p.gaussian_blur,
                p.pixel_shuffle
            )
        );
    }
}

#[test]
fn bad_files_are_user_errors_that_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let run = common::train(tmp.path(), TWO_MOONS);
    let try_file = |name: &str, x: Option<Tensor>| {
        let path = tmp.path().join(name);
        if let Some(x) = x {
            x.write_npy(&path).unwrap();
        }
        let opts = EvalRunOptions {
            samples: Some(path.clone()),
            out_dir: Some(tmp.path().join("never")),
            ..EvalRunOptions::default()
        };
        let err = evaluate_run(&run, &opts).unwrap_err();
        assert!(err.is_user_input(), "{err}");
        let msg = err.to_string();
        assert!(msg.starts_with(&path.display().to_string()), "{msg}");
        msg
    };
    let dev = &Device::Cpu;
    let msg = try_file(
        "wide.npy",
        Some(Tensor::zeros((100, 3), DType::F32, dev).unwrap()),
    );
    assert!(
        msg.contains("shape [100, 3] does not match the run's data shape [2]"),
        "{msg}"
    );
    let msg = try_file(
        "ints.npy",
        Some(Tensor::zeros((100, 2), DType::I64, dev).unwrap()),
    );
    assert!(
        msg.contains("dtype i64") && msg.contains("float32 or float64"),
        "{msg}"
    );
    let mut v = vec![0.5f32; 200];
    v[77] = f32::NAN;
    let nan = Tensor::from_vec(v, (100, 2), dev).unwrap();
    let msg = try_file("nan.npy", Some(nan));
    assert!(msg.contains("NaN of sample 38"), "{msg}");
    let msg = try_file(
        "one.npy",
        Some(Tensor::zeros((1, 2), DType::F32, dev).unwrap()),
    );
    assert!(msg.contains("at least 2"), "{msg}");
    let msg = try_file("missing.npy", None);
    assert!(msg.contains("cannot be read as .npy"), "{msg}");
    assert!(!tmp.path().join("never").exists(), "nothing is written");

    // --n does not go with a file.
    let opts = EvalRunOptions {
        samples: Some(run.join("samples.npy")),
        n: Some(10),
        ..EvalRunOptions::default()
    };
    let err = evaluate_run(&run, &opts).unwrap_err();
    assert!(
        err.is_user_input() && err.to_string().contains("--n"),
        "{err}"
    );
}
