//! The user's sampler passes the conformance kit: config errors naming the key, chains of any
//! shape, seeded reproducibility, and exp(−E) invariant (random-walk Metropolis is exact).

#[test]
fn random_walk_conforms() {
    custom_sampler::link();
    let report = ebm_testing::SamplerCheck::new("random_walk")
        .params("scale = 0.5")
        .rejects("scale = -1.0", "scale")
        .rejects("scale = 0.0", "scale")
        .exact()
        .run()
        .unwrap();
    let acceptance = report.summary.mean_acceptance.unwrap();
    assert!(acceptance > 0.1 && acceptance < 0.99, "{report:?}");
    // It needs energy values: on a gradient field it must say so with an error.
    assert!(!report.runs_on_gradient_fields, "{report:?}");
}
