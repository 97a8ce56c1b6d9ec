//! Every built-in loss passes the conformance kit (`ebm-testing`), the same one a user's loss
//! crate runs: config errors naming the key, data of any shape, seeded reproducibility, the
//! fused gradient path agreeing with autograd, and the chain bank's checkpoint round trip.

use ebm_core::loss_names;
use ebm_testing::LossCheck;

/// The check of each built-in, with its own bad values.
fn check_of(name: &str) -> Option<LossCheck> {
    let check = LossCheck::new(name);
    Some(match name {
        "contrastive_divergence" => check
            .rejects("k = 0", "k")
            .rejects("reinit_prob = 2.0", "reinit_prob")
            .rejects("energy_reg = -1.0", "energy_reg"),
        "score_matching" => check
            .rejects("n_probes = 0", "n_probes")
            .rejects("data_noise = -1.0", "data_noise"),
        "sliced_score_matching" => check.rejects("n_projections = 0", "n_projections"),
        "denoising_score_matching" => check
            .rejects("sigma = -0.1", "sigma")
            .rejects("sigmas = { min = 0.5, max = 0.1 }", "sigmas.max"),
        "equilibrium_matching" => check.rejects("ct_multiplier = -1.0", "ct_multiplier"),
        "flow_matching" => check.rejects("source_std = 0.0", "source_std"),
        "nce" => check
            .rejects("noise_ratio = 0.0", "noise_ratio")
            .rejects("background = 1.0", "background"),
        _ => return None,
    })
}

#[test]
fn every_registered_loss_conforms() {
    ebm_losses::link();
    let names = loss_names();
    assert!(names.contains(&"contrastive_divergence"), "{names:?}");
    for name in names {
        let check = check_of(name)
            .unwrap_or_else(|| panic!("built-in loss `{name}` has no conformance entry here"));
        let report = check.run().unwrap();
        assert_eq!(report.shapes.len(), ebm_testing::CHAIN_SHAPES.len());
    }
}

#[test]
fn the_kit_sees_cd_state_and_gradient_path() {
    ebm_losses::link();
    let report = ebm_testing::check_loss("contrastive_divergence");
    assert!(
        report.has_chain_bank && report.has_gradient_path,
        "{report:?}"
    );
    assert!(!report.needs_time_input, "{report:?}");
    let report = ebm_testing::check_loss("flow_matching");
    assert!(
        report.needs_time_input && !report.has_chain_bank,
        "{report:?}"
    );
}
