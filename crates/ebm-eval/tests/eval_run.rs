//! `evaluate_run`: a trained 2-D run gets AIS log Z and a test log-likelihood beside its sample
//! distances; an image run (an MLP on the flattened images) gets FID-like/KID with floors and
//! noise ceilings, mode coverage, OOD AUROCs and figures, with the classifier trained once, cached and then reused; a folder that is not a
//! run is an error naming it.

mod common;

use ebm_eval::ais::AisConfig;
use ebm_eval::classifier::ClassifierConfig;
use ebm_eval::{evaluate_run, EvalRunOptions};

/// The two-moons example shrunk to a few seconds: enough training that exp(−E) holds its mass
/// near the moons.
const TWO_MOONS: &str = r#"
seed = 5
[data]
kind = "two_moons"
n_samples = 3000
[model]
kind = "mlp"
hidden = [64, 64]
activation = "elu"
[sampler]
kind = "langevin"
step_size = 0.01
[loss]
kind = "contrastive_divergence"
k = 10
buffer_capacity = 3000
reinit_prob = 0.01
energy_reg = 0.1
[train]
steps = 600
batch_size = 256
plot_every = 0
checkpoint_every = 600
[eval]
n_samples = 500
steps = 200
"#;

#[test]
fn a_two_moons_run_gets_ais_log_z_and_a_test_log_likelihood() {
    let tmp = tempfile::tempdir().unwrap();
    let run = common::train(tmp.path(), TWO_MOONS);
    let opts = EvalRunOptions {
        ais: AisConfig {
            chains: 64,
            temperatures: 200,
            ..AisConfig::default()
        },
        ..EvalRunOptions::default()
    };
    let (report, path) = evaluate_run(&run, &opts).unwrap();
    assert_eq!(path, run.join("evaluation").join("report.json"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let l = report
        .likelihood
        .as_ref()
        .expect("2-D runs get a likelihood");
    assert!(l.log_z.is_finite() && l.log_z_std_err >= 0.0, "{l:?}");
    assert!(l.ess > 1.0 && l.ess <= 64.0, "{l:?}");
    assert_eq!(json["likelihood"]["chains"], 64);
    assert!(json.get("images").is_none());
    // exp(−E)/Ẑ is a density: the data must be likelier under it than under a flat density
    // over [−3, 3] × [−2, 2], a box around the moons (log 1/area).
    let area = 6.0f64 * 4.0;
    assert!(
        l.mean_log_likelihood > -area.ln(),
        "test log-likelihood {} is below the uniform baseline {}",
        l.mean_log_likelihood,
        -area.ln()
    );
    // The samples section is the end-of-training evaluation, on the same settings and seed.
    let trained: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("eval.json")).unwrap()).unwrap();
    assert_eq!(json["samples"]["mmd2"], trained["mmd2"]);
}

#[test]
fn an_image_run_gets_fid_kid_and_ood_auroc_with_a_cached_classifier() {
    let tmp = tempfile::tempdir().unwrap();
    let run = common::tiny_image_run(tmp.path());
    let classifier = tmp.path().join("cache").join("classifier.safetensors");
    let opts = EvalRunOptions {
        classifier: Some(classifier.clone()),
        classifier_config: ClassifierConfig {
            hidden: vec![16],
            epochs: 1,
            ..ClassifierConfig::default()
        },
        ..EvalRunOptions::default()
    };
    let (first, _) = evaluate_run(&run, &opts).unwrap();
    let i = first.images.as_ref().expect("image runs get image metrics");
    assert!(i.classifier_trained_now && classifier.is_file());
    assert_eq!((i.n, i.feature_dim), (16, 16));
    for v in [
        i.fid,
        i.fid_floor,
        i.fid_noise,
        i.kid,
        i.kid_floor,
        i.kid_noise,
    ] {
        assert!(v.is_finite(), "{i:?}");
    }
    let ood = i
        .ood_auroc
        .as_ref()
        .expect("a conv energy has energy values");
    for a in [
        ood.uniform_noise,
        ood.vertical_flip,
        ood.inverted,
        ood.gaussian_blur,
        ood.pixel_shuffle,
    ] {
        assert!((0.0..=1.0).contains(&a), "{ood:?}");
    }
    // Mode coverage: the classifier's classes of the 16 samples, the 16 chains and 16 test
    // images, with CIFAR-10's names.
    let c = &i.mode_coverage;
    assert_eq!(c.classes, 10);
    assert_eq!(
        c.class_names.as_ref().map(|n| n[0].as_str()),
        Some("airplane")
    );
    let chains = c.chains.as_ref().expect("CD keeps a replay buffer");
    for h in [&c.samples, chains, &c.test] {
        assert_eq!(
            (h.counts.len(), h.counts.iter().sum::<usize>()),
            (10, 16),
            "{h:?}"
        );
        let least = *h.counts.iter().min().unwrap() as f64 / 16.0;
        assert_eq!(h.min_class_fraction, least, "{h:?}");
    }
    assert!(first.likelihood.is_none());
    assert!(i.fid_chains.is_some_and(f64::is_finite) && i.kid_chains.is_some());
    for f in &first.figures {
        let png = image::open(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(png.width() > 100, "{}", f.display());
    }
    // The second evaluation reuses the cached classifier and reproduces every number.
    let (second, _) = evaluate_run(&run, &opts).unwrap();
    let j = second.images.as_ref().unwrap();
    assert!(!j.classifier_trained_now);
    assert_eq!(
        (i.fid, i.kid, i.classifier_test_accuracy),
        (j.fid, j.kid, j.classifier_test_accuracy)
    );

    // Asking for more samples than two disjoint test subsets allow is a clear error.
    let err = evaluate_run(
        &run,
        &EvalRunOptions {
            n: Some(30),
            ..opts.clone()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("--n 30") && err.contains("40"), "{err}");
}

#[test]
fn a_folder_that_is_not_a_run_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let err = evaluate_run(tmp.path(), &EvalRunOptions::default())
        .err()
        .unwrap();
    assert!(err.is_user_input());
    assert!(err.to_string().contains("config.toml is missing"), "{err}");
}
