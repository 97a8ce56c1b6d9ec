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
}

#[test]
fn sliced_score_matching_errors_name_the_key() {
    let k = "kind = \"sliced_score_matching\"";
    assert_names(&format!("{k}\nn_projections = 0"), "loss.n_projections");
    assert_names(&format!("{k}\nprojection = \"sphere\""), "loss.projection");
    assert_names(&format!("{k}\nn_projections = -1"), "loss.n_projections");
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
