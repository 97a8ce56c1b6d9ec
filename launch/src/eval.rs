//! `ebm-launch eval RUN_DIR`: runs [`ebm_eval::evaluate_run`] and prints the report's headline
//! numbers.

use crate::EvalArgs;
use ebm_eval::ais::AisConfig;
use ebm_eval::classifier::ClassifierConfig;
use ebm_eval::{evaluate_run, EvalRunOptions, Result};

pub(crate) fn run(args: &EvalArgs) -> Result<()> {
    let opts = EvalRunOptions {
        n: args.n,
        steps: args.steps,
        seed: args.seed,
        classifier: args.classifier.clone(),
        classifier_config: ClassifierConfig {
            epochs: args.classifier_epochs,
            ..ClassifierConfig::default()
        },
        ais: AisConfig {
            chains: args.ais_chains,
            temperatures: args.ais_temperatures,
            base_std: args.ais_base_std,
            ..AisConfig::default()
        },
        out_dir: args.out.clone(),
        samples: args.samples.clone(),
        checkpoint: args.checkpoint.clone(),
    };
    let (report, path) = evaluate_run(&args.run_dir, &opts)?;
    let s = &report.samples;
    let drawn = match &report.sampler {
        Some(sampler) => format!(
            "{} samples × {} `{}` steps",
            s.n_samples, s.steps, sampler.kind
        ),
        None => format!("{} samples from {}", s.n_samples, report.samples_source),
    };
    println!(
        "evaluated {} (training step {}): {drawn}",
        report.checkpoint.display(),
        report.train_step,
    );
    // With bandwidth 0.5 every pair of images is "far": pixel-space MMD² is ~0 for any model,
    // so image runs are summarised by the feature-space metrics below.
    if report.images.is_none() {
        println!(
            "  MMD² {:.5} (floor {:.5}, init noise {:.5}), energy distance {:.4}",
            s.mmd2, s.mmd2_floor, s.mmd2_init, s.energy_distance
        );
        crate::density_lines::print(s);
    }
    if let Some(l) = &report.likelihood {
        println!(
            "  AIS log Z {:.4} ± {:.4} (ESS {:.0} of {}), test log-likelihood {:.4} nats/point",
            l.log_z, l.log_z_std_err, l.ess, l.chains, l.mean_log_likelihood
        );
    }
    if let Some(i) = &report.images {
        println!(
            "  FID-like {:.3} (floor {:.3}, noise {:.3}), KID {:.5} ± {:.5} (floor {:.5}, noise {:.5}); n = {}, classifier test accuracy {:.3}",
            i.fid, i.fid_floor, i.fid_noise, i.kid, i.kid_std, i.kid_floor, i.kid_noise, i.n,
            i.classifier_test_accuracy
        );
        if let (Some(f), Some(k)) = (i.fid_chains, i.kid_chains) {
            println!("  persistent chains (replay buffer): FID-like {f:.3}, KID {k:.5}");
        }
        let c = &i.mode_coverage;
        println!("  classes (samples): {}", c.samples.summary());
        if let Some(h) = &c.chains {
            println!("  classes (buffer):  {}", h.summary());
        }
        println!("  classes (test):    {}", c.test.summary());
        if let Some(o) = &i.ood_auroc {
            println!(
                "  OOD AUROC of −E: uniform noise {:.3}, vertical flip {:.3}, inverted {:.3}, \
                 Gaussian blur {:.3}, pixel shuffle {:.3}",
                o.uniform_noise, o.vertical_flip, o.inverted, o.gaussian_blur, o.pixel_shuffle
            );
        }
    }
    println!("  {}", path.display());
    for f in &report.figures {
        println!("  {}", f.display());
    }
    Ok(())
}
