//! Drawing samples from a trained run: load its resolved `config.toml` and newest checkpoint,
//! start `n` chains from the run's `[eval.init]`, run a sampler through the core driver
//! ([`ebm_core::sample`]) and write the samples (`.npy`), their diagnostics (ESS, split-R̂,
//! acceptance, energy trace as JSON) and, for 2-D models, the samples and a few chains' paths
//! over the energy landscape.
//!
//! With no seed given the chains use the run's `eval-samples` stream, so with the run's own
//! `[eval]` sampler, `n_samples` and `steps` this reproduces the run's `samples.npy` bit for bit.
//!
//! `init` starts the chains at the points of a .npy file instead (read and checked as
//! `eval --samples` reads samples): chains continue where another run, checkpoint or sampler
//! left them, e.g. through a run's checkpoints in order, each sharper than the one before.

mod figures;

use crate::eval_run::samples_file::read_points;
use crate::trained_run::TrainedRun;
use crate::{Error, Result};
use candle_core::Device;
use ebm_core::{build_sampler, rng, Chains, Diagnostics, PluginSpec, SampleOptions};
use ebm_train::{write_atomic, RunConfig};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Above this many bytes of kept trajectory, ask for thinning instead of running out of memory.
const TRAJECTORY_BUDGET: usize = 1 << 30;

/// What to draw and where to write it.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleRunOptions {
    /// Number of chains, hence of samples (`None`: 2,000, or the rows of `init`).
    pub n: Option<usize>,
    /// Sampler transitions from the init distribution.
    pub steps: u64,
    /// The sampler (default: the run's `[eval.sampler]`, else its `[sampler]`).
    pub sampler: Option<PluginSpec>,
    /// `key=value` overrides of the chosen sampler's parameters, values read as TOML.
    pub sampler_sets: Vec<String>,
    /// Seed of the chains' init and noise (default: the run's seed).
    pub seed: Option<u64>,
    /// Keep every `thin`-th state for the diagnostics and the paths.
    pub thin: u64,
    /// The samples file; the other outputs are named after its stem, beside it.
    pub out: PathBuf,
    /// Sample from this checkpoint instead of the newest.
    pub checkpoint: Option<PathBuf>,
    /// Start the chains at this .npy file's points instead of `[eval.init]`: one chain per row,
    /// so `n`, when given, must equal the file's rows.
    pub init: Option<PathBuf>,
}

/// What [`sample_from_run`] did and wrote.
#[derive(Clone, Debug)]
pub struct SampleRunReport {
    /// Chains drawn.
    pub n: usize,
    pub checkpoint: PathBuf,
    /// Training step of that checkpoint.
    pub train_step: u64,
    pub sampler: PluginSpec,
    pub samples: PathBuf,
    pub diagnostics: PathBuf,
    /// The PNGs written (none for models that are not 2-D).
    pub plots: Vec<PathBuf>,
    pub mean_acceptance: Option<f64>,
    /// The run's mean of each sampler-specific diagnostic (e.g. HMC's `divergences`).
    pub sampler_diagnostics: Vec<(&'static str, f64)>,
    /// Per-dimension diagnostics; empty when there were too few chains or kept states.
    pub dims: Vec<Diagnostics>,
}

/// The diagnostics JSON.
#[derive(Serialize)]
struct DiagnosticsFile<'a> {
    checkpoint: &'a Path,
    train_step: u64,
    sampler: &'a PluginSpec,
    seed: u64,
    n: usize,
    steps: u64,
    thin: u64,
    /// Transitions left out of the per-dimension diagnostics (the first half).
    burn_in: u64,
    dims: &'a [Diagnostics],
    #[serde(skip_serializing_if = "Option::is_none")]
    diagnostics_error: Option<String>,
    mean_acceptance: Option<f64>,
    /// The sampler's own diagnostics ([`ebm_core::StepInfo::extra`]), averaged over the run.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    sampler_diagnostics: BTreeMap<&'static str, f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    acceptance: Vec<Option<f64>>,
    kept_steps: &'a [u64],
    mean_energy: &'a [f64],
}

/// Samples from the trained model in `run_dir` as `opts` says (see the module docs).
pub fn sample_from_run(run_dir: &Path, opts: &SampleRunOptions) -> Result<SampleRunReport> {
    if opts.n == Some(0) || opts.thin == 0 {
        return Err(Error::usage("--n and --thin must be at least 1"));
    }
    let device = Device::Cpu;
    let TrainedRun {
        loaded,
        state,
        checkpoint: ckpt_path,
        config_path,
    } = TrainedRun::open_at(run_dir, opts.checkpoint.as_deref(), &device)?;
    let config = &loaded.config;
    let spec = sampler_spec(config, opts)?;
    let mut sampler = build_sampler("sampler", &spec).map_err(|e| {
        let origin = match &opts.sampler {
            Some(_) => "--sampler / --set-sampler on the command line".to_string(),
            None => format!("{} with --set-sampler", config_path.display()),
        };
        e.with_origin(|_| origin.clone())
    })?;
    let shape = state.input_shape();
    let dim: usize = shape.iter().product();
    let seed = opts.seed.unwrap_or(config.seed);
    let mut r = rng::stream(seed, "eval-samples", 0);
    let start = match &opts.init {
        Some(path) => {
            let data_shape = config.data.sample_shape();
            let image = config.data.is_image() && crate::image_plots::is_image(&data_shape);
            let x = read_points(path, &data_shape, &shape, image, 1, "the chains' start")?;
            match opts.n {
                Some(n) if n != x.dims()[0] => {
                    return Err(Error::usage(format!(
                        "--init {} holds {} points but --n asks for {n} chains: give --n {} \
                         or leave --n out",
                        path.display(),
                        x.dims()[0],
                        x.dims()[0]
                    )))
                }
                _ => x,
            }
        }
        None => config
            .eval
            .init
            .draw(&mut r, opts.n.unwrap_or(2000), &shape, &device)?,
    };
    let n = start.dims()[0];
    let kept = opts.steps.div_ceil(opts.thin) as usize;
    if kept.saturating_mul(n).saturating_mul(dim * 4) > TRAJECTORY_BUDGET {
        return Err(Error::usage(format!(
            "keeping {kept} states of {} chains × {dim} values needs more than 1 GiB: raise --thin",
            n
        )));
    }

    let mut chains = Chains::new(start);
    let burn_in = opts.steps / 2;
    let driver = SampleOptions {
        n_steps: opts.steps,
        thin: opts.thin,
        keep_trajectory: true,
        burn_in,
    };
    let energy = state.sampling_view()?;
    let out = ebm_core::sample(
        sampler.as_mut(),
        energy.as_ref(),
        &mut chains,
        &driver,
        &mut r,
    )?;

    if let Some(dir) = opts.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(ebm_train::Error::io(dir))?;
    }
    write_atomic(&opts.out, |tmp| Ok(out.final_x.write_npy(tmp)?))?;
    let (dims, diagnostics_error) = match out.diagnostics() {
        Ok(d) => (d, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let diagnostics = figures::sibling(&opts.out, "_diagnostics.json");
    let file = DiagnosticsFile {
        checkpoint: &ckpt_path,
        train_step: state.step,
        sampler: &spec,
        seed,
        n,
        steps: opts.steps,
        thin: opts.thin,
        burn_in,
        dims: &dims,
        diagnostics_error,
        mean_acceptance: out.mean_acceptance(),
        sampler_diagnostics: out.extra.iter().copied().collect(),
        acceptance: match out.acceptance.iter().any(Option::is_some) {
            true => out.acceptance.clone(),
            false => Vec::new(),
        },
        kept_steps: &out.kept_steps,
        mean_energy: &out.mean_energy,
    };
    let json = serde_json::to_string_pretty(&file)
        .map_err(ebm_train::Error::serialize("the diagnostics"))?;
    write_atomic(&diagnostics, |tmp| {
        std::fs::write(tmp, json).map_err(ebm_train::Error::io(tmp))
    })?;
    let plots = match shape.as_slice() {
        [2] => figures::draw(&opts.out, config, &state, &out, energy.as_ref())?,
        _ => Vec::new(),
    };
    Ok(SampleRunReport {
        checkpoint: ckpt_path,
        n,
        train_step: state.step,
        mean_acceptance: out.mean_acceptance(),
        sampler_diagnostics: out.extra.clone(),
        sampler: spec,
        samples: opts.out.clone(),
        diagnostics,
        plots,
        dims,
    })
}

/// The chosen sampler with the `--set-sampler` overrides applied.
fn sampler_spec(config: &RunConfig, opts: &SampleRunOptions) -> Result<PluginSpec> {
    let mut spec = match (&opts.sampler, &config.eval.sampler) {
        (Some(s), _) | (None, Some(s)) => s.clone(),
        (None, None) => config.sampler.clone(),
    };
    for pair in &opts.sampler_sets {
        let bad = |m: &str| Error::usage(format!("--set-sampler `{pair}`: {m}"));
        let (key, raw) = pair
            .split_once('=')
            .ok_or_else(|| bad("expected key=value"))?;
        let parts: Vec<&str> = key.trim().split('.').collect();
        if parts.iter().any(|p| p.is_empty()) || parts == ["kind"] {
            return Err(bad(
                "expected a parameter key like step_size (use --sampler for kind)",
            ));
        }
        // Read as TOML (numbers, booleans, inline tables), else as a plain string.
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.trim().to_string()));
        let mut node = &mut spec.params;
        for part in &parts[..parts.len() - 1] {
            let child = node
                .entry(part.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            node = child
                .as_table_mut()
                .ok_or_else(|| bad(&format!("`{part}` is a value, not a table")))?;
        }
        node.insert(parts[parts.len() - 1].to_string(), value);
    }
    Ok(spec)
}
