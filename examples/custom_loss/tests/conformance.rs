//! The user's loss passes the conformance kit: config errors naming the key, data of any shape,
//! seeded reproducibility, and a chain bank that survives a checkpoint round trip.

#[test]
fn softplus_contrastive_conforms() {
    custom_loss::link();
    let report = ebm_testing::LossCheck::new("softplus_contrastive")
        .rejects("k = 0", "k")
        .rejects("reinit_prob = 1.5", "reinit_prob")
        .run()
        .unwrap();
    assert!(report.has_chain_bank, "{report:?}");
    assert_eq!(report.metrics, ["energy_gap"], "{report:?}");
}
