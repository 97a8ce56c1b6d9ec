//! The lines a 2-D run's summary and `ebm-launch eval` print about its density: MMD² at the
//! data's scale with floors and ceilings, and KL(data ‖ model) from the true density.

use ebm_eval::EvalReport;

pub(crate) fn print(e: &EvalReport) {
    if !e.mmd2_by_bandwidth.is_empty() {
        println!("  MMD² by bandwidth     model      floor      noise   (model as % of noise)");
        for r in &e.mmd2_by_bandwidth {
            println!(
                "    {:<6} {:>16.5} {:>10.5} {:>10.5}   {:>5.1} %",
                r.bandwidth,
                r.model,
                r.floor,
                r.noise,
                100.0 * r.model / r.noise
            );
        }
    }
    if let Some(d) = &e.density {
        println!(
            "  log Z (grid {}², box [{:.2}, {:.2}]×[{:.2}, {:.2}]) {:.4} ± {:.4}",
            d.grid.resolution,
            d.grid.bounds[0],
            d.grid.bounds[1],
            d.grid.bounds[2],
            d.grid.bounds[3],
            d.grid.log_z,
            d.grid.error
        );
        println!(
            "  test log-likelihood {:.4} nats/point (data's true density {:.4}): KL(data ‖ model) ≈ {:.4} ± {:.4} nats over {} points",
            d.model_log_likelihood, d.true_log_likelihood, d.kl, d.kl_std_err, d.n_test
        );
    }
}
