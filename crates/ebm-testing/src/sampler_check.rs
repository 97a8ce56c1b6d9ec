//! [`check_sampler`]: what every registered sampler must do, whoever wrote it.

use crate::config::{check_config, require_registered, spec, BadValue};
use crate::failure::{failure, guarded, Failure};
use crate::fixtures::{bits, normal_batch, variance_of, DiagonalGaussian, GradientFieldOnly};
use candle_core::{DType, Device, Tensor};
use ebm_core::{build_sampler, rng, run_chains, sampler_names, Chains, RunSummary};

/// The chain shapes every sampler is run on: a vector, a matrix, and an image `[C, H, W]`.
pub const CHAIN_SHAPES: [&[usize]; 3] = [&[3], &[2, 3], &[1, 4, 4]];

/// A sampler's conformance check, configured by its builder methods; [`check_sampler`] is the
/// default one. Every check builds a fresh sampler from `[sampler] kind = name` plus `params`.
///
/// 1. config: it builds; an unknown key and every [`SamplerCheck::rejects`] value are config
///    errors naming the key (errors, not panics);
/// 2. shapes: on the analytic Gaussian over chains of every shape in [`CHAIN_SHAPES`], 64 chains
///    started at 4·N(0, I) keep their shape, stay finite and relax (mean square below half the
///    start's) within `steps` transitions;
/// 3. reproducibility: the same seed gives the same chains bit for bit and the same summary;
///    another seed gives other chains;
/// 4. exactness (with [`SamplerCheck::exact`]): 2000 chains started at exact draws of
///    N(0, diag(0.5, 1, 2)) still have its means and variances after 100 transitions, within
///    4.5 standard errors (exp(−E) is invariant);
/// 5. gradient fields: on an energy without energy values it runs or returns an error; it does
///    not panic (the report says which).
#[derive(Clone, Debug)]
pub struct SamplerCheck {
    name: String,
    params: String,
    bad: Vec<BadValue>,
    exact: bool,
    steps: u64,
}

/// What [`SamplerCheck::run`] found, for a test to look at or print.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplerReport {
    pub name: String,
    /// The chain shapes it was run on.
    pub shapes: Vec<Vec<usize>>,
    /// Whether the exactness check ran (and so passed).
    pub exact: bool,
    /// Whether it ran on a gradient field (false: it returned an error there).
    pub runs_on_gradient_fields: bool,
    /// The summary of the reproducibility run (acceptance and the sampler's own diagnostics).
    pub summary: RunSummary,
}

impl SamplerCheck {
    /// The check of the registered sampler `name` with its default parameters.
    pub fn new(name: &str) -> Self {
        SamplerCheck {
            name: name.into(),
            params: String::new(),
            bad: Vec::new(),
            exact: false,
            steps: 300,
        }
    }

    /// Parameters for every run, as the TOML of its section without `kind`
    /// (`"step_size = 0.1\nclamp = [-3.0, 3.0]"`).
    pub fn params(mut self, toml: &str) -> Self {
        self.params = toml.into();
        self
    }

    /// A value that must be rejected: `toml` (merged over the parameters) must give a config
    /// error naming `sampler.<key>`, e.g. `.rejects("step_size = -1.0", "step_size")`.
    pub fn rejects(mut self, toml: &str, key: &str) -> Self {
        self.bad.push(BadValue {
            toml: toml.into(),
            key: key.into(),
        });
        self
    }

    /// Also check that exp(−E) is its stationary distribution (MCMC samplers, exact or with a
    /// small discretisation bias; not mode finders or transports).
    pub fn exact(mut self) -> Self {
        self.exact = true;
        self
    }

    /// Transitions of the shape and reproducibility runs (default 300): enough for the sampler
    /// with these parameters to relax from 4·N(0, I) towards N(0, diag(0.5, 1, 2)).
    pub fn steps(mut self, steps: u64) -> Self {
        self.steps = steps;
        self
    }

    /// Runs every check; the first that fails is the error.
    pub fn run(&self) -> Result<SamplerReport, Failure> {
        let plugin = format!("sampler \"{}\"", self.name);
        let plugin = plugin.as_str();
        require_registered(plugin, "sampler", &self.name, &sampler_names())?;
        let good = spec(plugin, &self.name, &self.params)?;
        check_config(plugin, "sampler", &good, &self.bad, build_sampler)?;

        for shape in CHAIN_SHAPES {
            self.check_shape(plugin, &good, shape)?;
        }
        let summary = self.check_reproducible(plugin, &good)?;
        if self.exact {
            self.check_exact(plugin, &good)?;
        }
        let runs_on_gradient_fields = guarded(plugin, "gradient fields", || {
            let mut sampler = build_sampler("sampler", &good)?;
            let field = GradientFieldOnly(DiagonalGaussian::new(&[3], &Device::Cpu)?);
            let mut r = rng::stream(5, "kit-field", 0);
            let mut chains = Chains::new(normal_batch(&mut r, 8, &[3], 0.0, 1.0)?);
            Ok(run_chains(sampler.as_mut(), &field, &mut chains, 5, &mut r).is_ok())
        })?;
        Ok(SamplerReport {
            name: self.name.clone(),
            shapes: CHAIN_SHAPES.iter().map(|s| s.to_vec()).collect(),
            exact: self.exact,
            runs_on_gradient_fields,
            summary,
        })
    }

    /// `steps` transitions of a fresh sampler on 64 chains of `shape` from 4·N(0, I).
    fn relax(
        &self,
        good: &ebm_core::PluginSpec,
        shape: &[usize],
        seed: u64,
    ) -> ebm_core::Result<(Tensor, Tensor, RunSummary)> {
        let mut sampler = build_sampler("sampler", good)?;
        let target = DiagonalGaussian::new(shape, &Device::Cpu)?;
        let mut r = rng::stream(seed, "kit-sampler", 0);
        let start = normal_batch(&mut r, 64, shape, 0.0, 4.0)?;
        let mut chains = Chains::new(start.clone());
        let summary = run_chains(sampler.as_mut(), &target, &mut chains, self.steps, &mut r)?;
        Ok((start, chains.into_x(), summary))
    }

    fn check_shape(
        &self,
        plugin: &str,
        good: &ebm_core::PluginSpec,
        shape: &[usize],
    ) -> Result<(), Failure> {
        let (start, end, _) = guarded(plugin, "shapes", || self.relax(good, shape, 1))?;
        let fail = |m: String| failure(plugin, "shapes", format!("chains of shape {shape:?}: {m}"));
        if end.dims() != start.dims() {
            return Err(fail(format!(
                "started as {:?}, ended as {:?}",
                start.dims(),
                end.dims()
            )));
        }
        let (ms_start, ms_end) = (mean_square(&start)?, mean_square(&end)?);
        if !ms_end.is_finite() {
            return Err(fail("non-finite values".into()));
        }
        if !(ms_end < 0.5 * ms_start) {
            return Err(fail(format!(
                "did not relax towards the Gaussian: mean square {ms_start:.3} at the start, \
                 {ms_end:.3} after {} steps (more steps or a larger step?)",
                self.steps
            )));
        }
        Ok(())
    }

    fn check_reproducible(
        &self,
        plugin: &str,
        good: &ebm_core::PluginSpec,
    ) -> Result<RunSummary, Failure> {
        let shape = CHAIN_SHAPES[1];
        let run = |seed| {
            guarded(plugin, "reproducibility", || {
                let (_, x, summary) = self.relax(good, shape, seed)?;
                Ok((bits(&x)?, summary))
            })
        };
        let (a, summary_a) = run(7)?;
        let (b, summary_b) = run(7)?;
        let fail = |m: &str| failure(plugin, "reproducibility", m.into());
        if a != b {
            return Err(fail(
                "the same seed gave different chains: draw every random number from \
                 `ctx.rng` (ebm_core::rng), never from candle's randn or a global generator",
            ));
        }
        // NaN != NaN, so compare what can be compared bit for bit.
        if format!("{summary_a:?}") != format!("{summary_b:?}") {
            return Err(fail(&format!(
                "the same seed gave different summaries: {summary_a:?} and {summary_b:?}"
            )));
        }
        if run(8)?.0 == a {
            return Err(fail("another seed gave the very same chains"));
        }
        Ok(summary_a)
    }

    fn check_exact(&self, plugin: &str, good: &ebm_core::PluginSpec) -> Result<(), Failure> {
        const N: usize = 2000;
        const STEPS: u64 = 100;
        let shape = CHAIN_SHAPES[0];
        let d = shape[0];
        let x = guarded(plugin, "exactness", || {
            let mut sampler = build_sampler("sampler", good)?;
            let target = DiagonalGaussian::new(shape, &Device::Cpu)?;
            let mut r = rng::stream(11, "kit-exact", 0);
            let std: Vec<f32> = (0..d).map(|i| variance_of(i).sqrt() as f32).collect();
            let std = Tensor::from_vec(std, (1, d), &Device::Cpu)?;
            let start = normal_batch(&mut r, N, shape, 0.0, 1.0)?.broadcast_mul(&std)?;
            let mut chains = Chains::new(start);
            run_chains(sampler.as_mut(), &target, &mut chains, STEPS, &mut r)?;
            Ok(chains.x().to_dtype(DType::F64)?.to_vec2::<f64>()?)
        })?;
        let n = N as f64;
        for j in 0..d {
            let v = variance_of(j);
            let col: Vec<f64> = x.iter().map(|row| row[j]).collect();
            let mean = col.iter().sum::<f64>() / n;
            let var = col.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let (se_mean, se_var) = ((v / n).sqrt(), v * (2.0 / (n - 1.0)).sqrt());
            if !((mean / se_mean).abs() < 4.5 && ((var - v) / se_var).abs() < 4.5) {
                return Err(failure(
                    plugin,
                    "exactness",
                    format!(
                        "started at exact draws of N(0, {v}) in coordinate {j}, after {STEPS} \
                         steps its {N} chains have mean {mean:.4} (SE {se_mean:.4}) and \
                         variance {var:.4} (SE {se_var:.4}): exp(−E) is not invariant"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Mean over chains of the squared norm, per coordinate.
fn mean_square(x: &Tensor) -> Result<f64, Failure> {
    let v = x
        .to_dtype(DType::F64)
        .and_then(|t| t.sqr()?.mean_all()?.to_scalar::<f64>())
        .map_err(|e| failure("kit", "shapes", e.to_string()))?;
    Ok(v)
}

/// Runs [`SamplerCheck::new`]`(name)` with the default parameters and panics with the failure;
/// for a `#[test]`. Use [`SamplerCheck`] to give parameters, bad values or exactness.
pub fn check_sampler(name: &str) -> SamplerReport {
    SamplerCheck::new(name)
        .run()
        .unwrap_or_else(|f| panic!("{f}"))
}
