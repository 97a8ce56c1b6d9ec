//! ebm-eval: how good is a trained energy-based model, and what does it look like.
//!
//! - In the training loop, through ebm-train's one seam ([`ebm_train::RunHooks`]):
//!   [`EvalHooks`] draws the progress figures ([`plots`]: landscapes and curves;
//!   [`image_plots`]: buffer and sample grids, energy histograms) and, after the last step,
//!   evaluates ([`draw_samples`], [`compare_with_data`]: `samples.npy`, `eval.json`).
//! - On a finished run folder, opened by [`TrainedRun`]: [`sample_from_run`]
//!   (`ebm-launch sample`: new samples with diagnostics and figures) and [`evaluate_run`]
//!   (`ebm-launch eval`: sample distances, AIS likelihood, FID-like/KID/mode coverage/OOD
//!   AUROC in the feature space of a [`classifier`] ebm trains itself, for the model's samples
//!   or for samples from a .npy file), [`energy_of_points`] (`ebm-launch energy`: E(x) and
//!   ∇ₓE at a user's points).
//! - The measures themselves: [`distance`] (MMD², energy distance), [`ais`] (log Z),
//!   [`density_fit`] (MMD² at the data's scale, grid log Z, KL(data ‖ model) for 2-D sets),
//!   [`image_metrics`] (Fréchet distance, KID, AUROC), [`ood_sets`] (blurred and
//!   pixel-shuffled images).
//!
//! Depends on ebm-train (config, run folder, checkpoints, state), never the other way round.

pub mod ais;
pub mod classifier;
mod data_energy;
pub mod density_fit;
pub mod distance;
mod energy_run;
mod error;
mod eval_run;
mod eval_samples;
pub mod image_metrics;
pub mod image_plots;
pub mod ood_sets;
pub mod plots;
mod run_hooks;
mod sample_run;
mod trained_run;

pub use data_energy::DataEnergy;
pub use ebm_train::EvalConfig;
pub use energy_run::{energy_of_points, EnergyRunOptions, EnergyRunReport};
pub use error::{Error, Result};
pub use eval_run::{
    evaluate_run, EvalRunOptions, EvalRunReport, ImageReport, LikelihoodReport, ModeCoverage,
    OodReport, MAX_AIS_DIM,
};
pub use eval_samples::{
    compare_with_data, draw_samples, draw_samples_from, draw_samples_through, EvalReport,
};
pub use run_hooks::EvalHooks;
pub use sample_run::{sample_from_run, SampleRunOptions, SampleRunReport};
pub use trained_run::TrainedRun;
