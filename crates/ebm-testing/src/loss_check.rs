//! [`check_loss`]: what every registered loss must do, whoever wrote it.

use crate::config::{check_config, require_registered, spec, BadValue};
use crate::failure::{failure, guarded, Failure};
use crate::fixtures::{bits, normal_batch, KitLangevin, QuadraticModel};
use crate::sampler_check::CHAIN_SHAPES;
use candle_core::{DType, Device, Tensor};
use ebm_core::{build_loss, loss_names, rng, Loss, LossOut, Model, PluginSpec, TrainCtx};

/// Rows of every batch the checks feed a loss.
const BATCH: usize = 16;

/// A loss's conformance check, configured by its builder methods; [`check_loss`] is the default
/// one. Every check builds a fresh loss from `[loss] kind = name` plus `params`, on the kit's
/// [`QuadraticModel`] (an energy model, or, if the loss rejects that in `check_model`, the same
/// model with a time input), with [`KitLangevin`] as the sampler of losses that draw negatives.
///
/// 1. config: it builds; an unknown key and every [`LossCheck::rejects`] value are config
///    errors naming the key (errors, not panics);
/// 2. shapes: for data of every shape in [`crate::CHAIN_SHAPES`], `init` and two training steps
///    give a finite scalar loss, finite metrics and finite parameter gradients, at least one
///    of them non-zero;
/// 3. reproducibility: the same seeds give the same losses and metrics bit for bit;
/// 4. the gradient path: where `forward_with_grads` answers, its loss and metrics agree with
///    `forward`'s to f32 rounding;
/// 5. checkpoint round trip: a loss with a chain bank, restored from another's saved bank into
///    a fresh instance, takes the very same next step.
#[derive(Clone, Debug)]
pub struct LossCheck {
    name: String,
    params: String,
    bad: Vec<BadValue>,
}

/// What [`LossCheck::run`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct LossReport {
    pub name: String,
    pub shapes: Vec<Vec<usize>>,
    /// Whether the loss needed the model with a time input.
    pub needs_time_input: bool,
    /// Whether it keeps a chain bank (and so the round trip ran).
    pub has_chain_bank: bool,
    /// Whether `forward_with_grads` answered (and so agreed with `forward`).
    pub has_gradient_path: bool,
    /// The metrics' names.
    pub metrics: Vec<&'static str>,
}

impl LossCheck {
    /// The check of the registered loss `name` with its default parameters.
    pub fn new(name: &str) -> Self {
        LossCheck {
            name: name.into(),
            params: String::new(),
            bad: Vec::new(),
        }
    }

    /// Parameters for every run, as the TOML of its section without `kind`.
    pub fn params(mut self, toml: &str) -> Self {
        self.params = toml.into();
        self
    }

    /// A value that must be rejected: `toml` (merged over the parameters) must give a config
    /// error naming `loss.<key>`, e.g. `.rejects("k = 0", "k")`.
    pub fn rejects(mut self, toml: &str, key: &str) -> Self {
        self.bad.push(BadValue {
            toml: toml.into(),
            key: key.into(),
        });
        self
    }

    /// Runs every check; the first that fails is the error.
    pub fn run(&self) -> Result<LossReport, Failure> {
        // Score-matching-style losses differentiate ∇ₓE again; candle needs this before the
        // thread's first backward.
        ebm_core::ensure_double_backward();
        let plugin = format!("loss \"{}\"", self.name);
        let plugin = plugin.as_str();
        require_registered(plugin, "loss", &self.name, &loss_names())?;
        let good = spec(plugin, &self.name, &self.params)?;
        let loss = check_config(plugin, "loss", &good, &self.bad, build_loss)?;
        let needs_time_input = pick_model(plugin, loss.as_ref())?;

        let mut metrics = Vec::new();
        for shape in CHAIN_SHAPES {
            let steps = guarded(plugin, "shapes", || {
                Session::new(&good, shape, needs_time_input, 1)?.steps(2, 3)
            })?;
            for (out, grads_ok) in steps {
                check_step(plugin, shape, &out, grads_ok)?;
                metrics = out.metrics.iter().map(|(n, _)| *n).collect();
            }
        }
        self.check_reproducible(plugin, &good, needs_time_input)?;
        let has_gradient_path = check_gradient_path(plugin, &good, needs_time_input)?;
        let has_chain_bank = check_round_trip(plugin, &good, needs_time_input)?;
        Ok(LossReport {
            name: self.name.clone(),
            shapes: CHAIN_SHAPES.iter().map(|s| s.to_vec()).collect(),
            needs_time_input,
            has_chain_bank,
            has_gradient_path,
            metrics,
        })
    }

    fn check_reproducible(
        &self,
        plugin: &str,
        good: &PluginSpec,
        time: bool,
    ) -> Result<(), Failure> {
        let run = || {
            guarded(plugin, "reproducibility", || {
                let steps = Session::new(good, CHAIN_SHAPES[1], time, 4)?.steps(2, 9)?;
                steps
                    .iter()
                    .map(|(out, _)| fingerprint(out))
                    .collect::<ebm_core::Result<Vec<_>>>()
            })
        };
        if run()? != run()? {
            return Err(failure(
                plugin,
                "reproducibility",
                "the same seeds gave different losses or metrics: draw every random number \
                 from `ctx.rng` or the `init` stream (ebm_core::rng), never from candle's randn \
                 or a global generator"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// Whether the loss needs the model with a time input: the plain energy model first.
fn pick_model(plugin: &str, loss: &dyn Loss) -> Result<bool, Failure> {
    let mut errors = Vec::new();
    for time in [false, true] {
        let verdict = guarded(plugin, "model", || {
            let model = QuadraticModel::new(CHAIN_SHAPES[0], time, &Device::Cpu)?;
            Ok(loss.check_model(&model).err())
        })?;
        match verdict {
            None => return Ok(time),
            Some(e) => errors.push(e.to_string()),
        }
    }
    Err(failure(
        plugin,
        "model",
        format!(
            "rejects both kit models (an energy model: {}; one with a time input: {})",
            errors[0], errors[1]
        ),
    ))
}

/// A fresh loss, model and streams, as a training run has them.
struct Session {
    loss: Box<dyn Loss>,
    model: QuadraticModel,
    shape: Vec<usize>,
    rng: ebm_core::Rng,
}

impl Session {
    fn new(good: &PluginSpec, shape: &[usize], time: bool, seed: u64) -> ebm_core::Result<Self> {
        let mut loss = build_loss("loss", good)?;
        let model = QuadraticModel::new(shape, time, &Device::Cpu)?;
        loss.check_model(&model)?;
        let mut init = rng::stream(seed, "kit-loss-init", 0);
        if loss.needs_data() {
            // A training set from the batches' distribution, for losses fitted to the data.
            let train = normal_batch(&mut init, 8 * BATCH, shape, 1.0, 0.5)?;
            loss.fit_data(&train, &mut rng::stream(seed, "kit-loss-fit", 0))?;
        }
        loss.init(shape, &mut init)?;
        Ok(Session {
            loss,
            model,
            shape: shape.to_vec(),
            rng: rng::stream(seed, "kit-loss", 0),
        })
    }

    /// The data of step `step` (from its own stream, so every session sees the same batches).
    fn batch(&self, data_seed: u64, step: u64) -> ebm_core::Result<Tensor> {
        let mut r = rng::stream(data_seed, "kit-data", step as u32);
        normal_batch(&mut r, BATCH, &self.shape, 1.0, 0.5)
    }

    /// `n` steps of `forward` + backward; each gives the output and whether the gradients were
    /// finite with at least one non-zero. The parameters are not updated.
    fn steps(&mut self, n: u64, data_seed: u64) -> ebm_core::Result<Vec<(LossOut, bool)>> {
        (0..n)
            .map(|step| {
                let batch = self.batch(data_seed, step)?;
                let out = self.forward(step, &batch)?;
                let grads = out.loss.backward()?;
                let mut any_nonzero = false;
                let mut all_finite = true;
                for p in self.model.params() {
                    if let Some(g) = grads.get(p.var.as_tensor()) {
                        let v = g.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
                        all_finite &= v.iter().all(|x| x.is_finite());
                        any_nonzero |= v.iter().any(|x| *x != 0.0);
                    }
                }
                Ok((out, all_finite && any_nonzero))
            })
            .collect()
    }

    fn forward(&mut self, step: u64, batch: &Tensor) -> ebm_core::Result<LossOut> {
        let mut ctx = TrainCtx {
            step,
            sampler: &mut KitLangevin,
            rng: &mut self.rng,
        };
        self.loss.forward(&self.model, batch, &mut ctx)
    }
}

/// A step's loss value and metrics, as bits: what reproducibility compares.
type Fingerprint = (Vec<u32>, Vec<(&'static str, u64)>);

/// The loss value and every metric, as bits.
fn fingerprint(out: &LossOut) -> ebm_core::Result<Fingerprint> {
    Ok((
        bits(&out.loss)?,
        out.metrics.iter().map(|(n, v)| (*n, v.to_bits())).collect(),
    ))
}

fn scalar(t: &Tensor) -> ebm_core::Result<f64> {
    Ok(t.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?[0])
}

fn check_step(plugin: &str, shape: &[usize], out: &LossOut, grads_ok: bool) -> Result<(), Failure> {
    let fail = |m: String| failure(plugin, "shapes", format!("data of shape {shape:?}: {m}"));
    if out.loss.elem_count() != 1 {
        return Err(fail(format!(
            "the loss has shape {:?}, not a scalar",
            out.loss.dims()
        )));
    }
    let value = scalar(&out.loss).map_err(|e| fail(e.to_string()))?;
    if !value.is_finite() {
        return Err(fail(format!("the loss is {value}")));
    }
    if let Some((name, v)) = out.metrics.iter().find(|(_, v)| !v.is_finite()) {
        return Err(fail(format!("metric `{name}` is {v}")));
    }
    if !grads_ok {
        return Err(fail(
            "the parameter gradients are not finite, or all zero (is the loss built from the \
             model's outputs with tensor ops that autograd can follow?)"
                .into(),
        ));
    }
    Ok(())
}

/// Where `forward_with_grads` answers, it must agree with `forward` on the same draws.
fn check_gradient_path(plugin: &str, good: &PluginSpec, time: bool) -> Result<bool, Failure> {
    let outcome = guarded(plugin, "gradient path", || {
        let mut a = Session::new(good, CHAIN_SHAPES[0], time, 2)?;
        let mut b = Session::new(good, CHAIN_SHAPES[0], time, 2)?;
        let batch = a.batch(5, 0)?;
        let plain = a.forward(0, &batch)?;
        let mut ctx = TrainCtx {
            step: 0,
            sampler: &mut KitLangevin,
            rng: &mut b.rng,
        };
        let Some((fused, _)) = b.loss.forward_with_grads(&b.model, &batch, &mut ctx)? else {
            return Ok(None);
        };
        Ok(Some((
            scalar(&plain.loss)?,
            plain.metrics,
            scalar(&fused.loss)?,
            fused.metrics,
        )))
    })?;
    let Some((l0, m0, l1, m1)) = outcome else {
        return Ok(false);
    };
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-5 * (1.0 + a.abs().max(b.abs()));
    let names = |m: &[(&'static str, f64)]| m.iter().map(|(n, _)| *n).collect::<Vec<_>>();
    if !close(l0, l1)
        || names(&m0) != names(&m1)
        || m0.iter().zip(&m1).any(|((_, a), (_, b))| !close(*a, *b))
    {
        return Err(failure(
            plugin,
            "gradient path",
            format!(
                "forward_with_grads gave loss {l1} and metrics {m1:?}, forward gave {l0} and \
                 {m0:?} on the same draws"
            ),
        ));
    }
    Ok(true)
}

/// A loss with a chain bank: save after one step, restore into a fresh loss initialised from
/// another seed, and both must take the same next step.
fn check_round_trip(plugin: &str, good: &PluginSpec, time: bool) -> Result<bool, Failure> {
    let outcome = guarded(plugin, "checkpoint round trip", || {
        let shape = CHAIN_SHAPES[2];
        let mut a = Session::new(good, shape, time, 3)?;
        if a.loss.chain_bank().is_none() {
            return Ok(None);
        }
        a.steps(1, 6)?;
        let Some(saved) = a
            .loss
            .chain_bank()
            .map(|b| b.to_tensor(&Device::Cpu))
            .transpose()?
        else {
            return Ok(None);
        };
        let mut b = Session::new(good, shape, time, 99)?;
        let Some(bank) = b.loss.chain_bank_mut() else {
            return Ok(Some(Err(
                "a fresh instance has no chain bank after init".to_string()
            )));
        };
        bank.restore(&saved)?;
        let restored = bank.to_tensor(&Device::Cpu)?;
        if bits(&restored)? != bits(&saved)? {
            return Ok(Some(Err(
                "the restored bank differs from the saved one".into()
            )));
        }
        // The next step from the same generator state: a's stream has advanced one step, so
        // give both a fresh one.
        a.rng = rng::stream(31, "kit-loss-resume", 0);
        b.rng = rng::stream(31, "kit-loss-resume", 0);
        let batch = a.batch(6, 1)?;
        let (next_a, next_b) = (a.forward(1, &batch)?, b.forward(1, &batch)?);
        if fingerprint(&next_a)? != fingerprint(&next_b)? {
            return Ok(Some(Err(
                "after restoring the saved bank, the next step differs: some state of the loss \
                 is not in its chain bank"
                    .into(),
            )));
        }
        Ok(Some(Ok(())))
    })?;
    match outcome {
        None => Ok(false),
        Some(Ok(())) => Ok(true),
        Some(Err(m)) => Err(failure(plugin, "checkpoint round trip", m)),
    }
}

/// Runs [`LossCheck::new`]`(name)` with the default parameters and panics with the failure; for
/// a `#[test]`. Use [`LossCheck`] to give parameters or bad values.
pub fn check_loss(name: &str) -> LossReport {
    LossCheck::new(name).run().unwrap_or_else(|f| panic!("{f}"))
}
