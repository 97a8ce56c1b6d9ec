//! A bad value or a typo in each score-matching loss's parameters is a config error naming the key.

use ebm_core::{build_loss, PluginSpec};

fn error(text: &str) -> String {
    ebm_losses::link();
    let spec: PluginSpec = toml::from_str(text).unwrap();
    let e = build_loss("loss", &spec).err().expect("expected an error");
    assert!(e.is_config(), "{e}");
    e.to_string()
}

fn assert_names(text: &str, key: &str) {
    let e = error(text);
    assert!(e.contains(&format!("`{key}`")), "expected `{key}` in: {e}");
}

#[test]
fn score_matching_errors_name_the_key() {
    assert_names("kind = \"score_matching\"\nn_probes = 0", "loss.n_probes");
    assert_names(
        "kind = \"score_matching\"\nhessian = \"approx\"",
        "loss.hessian",
    );
    assert_names("kind = \"score_matching\"\nn_probe = 2", "loss.n_probe");
    assert_names(
        "kind = \"score_matching\"\ndata_noise = -0.1",
        "loss.data_noise",
    );
}

#[test]
fn sliced_score_matching_errors_name_the_key() {
    let k = "kind = \"sliced_score_matching\"";
    assert_names(&format!("{k}\nn_projections = 0"), "loss.n_projections");
    assert_names(&format!("{k}\nprojection = \"sphere\""), "loss.projection");
    assert_names(&format!("{k}\nn_projections = -1"), "loss.n_projections");
    assert_names(&format!("{k}\ndata_noise = nan"), "loss.data_noise");
}

#[test]
fn denoising_score_matching_errors_name_the_key() {
    let k = "kind = \"denoising_score_matching\"";
    assert_names(&format!("{k}\nsigma = 0.0"), "loss.sigma");
    assert_names(
        &format!("{k}\nsigma = 0.1\nsigmas = {{ n = 4 }}"),
        "loss.sigmas",
    );
    assert_names(
        &format!("{k}\nsigmas = {{ max = 0.1, min = 0.5 }}"),
        "loss.sigmas.max",
    );
    assert_names(&format!("{k}\nsigmas = {{ n = 1 }}"), "loss.sigmas.n");
    assert_names(&format!("{k}\nsigmas = {{ mx = 1.0 }}"), "loss.sigmas.mx");
    assert_names(&format!("{k}\nnoise_scale = 0.1"), "loss.noise_scale");
}

#[test]
fn flow_and_equilibrium_matching_errors_name_the_key() {
    for k in [
        "kind = \"flow_matching\"",
        "kind = \"equilibrium_matching\"",
    ] {
        assert_names(
            &format!("{k}\ninterpolant = {{ kind = \"straight\" }}"),
            "loss.interpolant.kind",
        );
        assert_names(
            &format!("{k}\ntime = {{ kind = \"logit_normal\", std = 0.0 }}"),
            "loss.time",
        );
        assert_names(
            &format!("{k}\ntime = {{ kind = \"beta\" }}"),
            "loss.time.kind",
        );
        assert_names(&format!("{k}\nsource_std = 0.0"), "loss.source_std");
    }
    let k = "kind = \"equilibrium_matching\"";
    assert_names(&format!("{k}\nct_threshold = 1.0"), "loss.ct_threshold");
    assert_names(&format!("{k}\nct_multiplier = 0.0"), "loss.ct_multiplier");
    assert_names(&format!("{k}\nct = \"cosine\""), "loss.ct");
}

#[test]
fn a_loss_names_the_model_key_it_needs() {
    use ebm_core::rng;
    use ebm_models::{Mlp, MlpConfig, Output};
    ebm_losses::link();
    let model = |output, time| {
        let config = MlpConfig {
            output,
            time,
            ..MlpConfig::default()
        };
        Mlp::new(
            &config,
            2,
            &mut rng::stream(0, "init", 0),
            &candle_core::Device::Cpu,
        )
        .unwrap()
    };
    let check = |text: &str, m: &Mlp| {
        let spec: PluginSpec = toml::from_str(text).unwrap();
        build_loss("loss", &spec).unwrap().check_model(m)
    };
    let e = check("kind = \"flow_matching\"", &model(Output::Energy, false)).unwrap_err();
    assert!(
        e.is_config() && e.to_string().contains("`model.time`"),
        "{e}"
    );
    assert!(check("kind = \"flow_matching\"", &model(Output::Field, true)).is_ok());
    let e = check(
        "kind = \"contrastive_divergence\"",
        &model(Output::Field, false),
    )
    .unwrap_err();
    assert!(
        e.is_config() && e.to_string().contains("`model.output`"),
        "{e}"
    );
    assert!(check(
        "kind = \"equilibrium_matching\"",
        &model(Output::Field, false)
    )
    .is_ok());
}
