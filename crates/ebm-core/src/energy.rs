//! `Energy` (a scalar field E(x) over a batch) and `Model` (an energy with trainable parameters).
//!
//! Samplers only ever see `&dyn Energy`. A trainable model hands them `Model::detached()`, a view of
//! the same weights that autograd does not track, so a sampler's ∇ₓE never pays for parameter
//! gradients it would throw away.
//!
//! Losses that put ∇ₓE inside the objective (score matching) need it differentiable with respect to
//! the weights. [`Energy::grad_is_differentiable`] says whether `grad` already is (the MLP's
//! explicit ops are); otherwise [`differentiable_grad`] keeps autograd's graph, which candle only
//! does with `CANDLE_GRAD_DO_NOT_DETACH=1` set before the first backward ([`ensure_double_backward`]).

use crate::{Error, Result};
use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor, Var};

/// The environment variable that makes candle's `backward()` keep the graph of the gradients it
/// returns (read once per thread, at that thread's first backward).
pub const DOUBLE_BACKWARD_ENV: &str = "CANDLE_GRAD_DO_NOT_DETACH";

/// An energy function over a batch: `x` is `[B, ...]`, the energy is `[B]`.
pub trait Energy: Send + Sync {
    /// E(x), one value per batch row.
    fn energy(&self, x: &Tensor) -> Result<Tensor>;

    /// ∇ₓE(x), same shape as `x`. The default uses candle's autograd; analytic energies and built-in
    /// networks override it with a closed-form or explicit path.
    fn grad(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.energy_and_grad(x)?.1)
    }

    /// Both at once (MALA and HMC need both; one pass shares the forward).
    fn energy_and_grad(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        autograd_energy_and_grad(self, x)
    }

    /// True when `grad` / `energy_and_grad` are built from ordinary ops that stay differentiable
    /// with respect to the parameters (and to `x`), so one `backward()` of a loss made of ∇ₓE is
    /// exact without [`ensure_double_backward`]. The autograd default detaches: false.
    fn grad_is_differentiable(&self) -> bool {
        false
    }

    /// False for networks that output a vector field g(x) ≈ ∇ₓE of an implicit energy
    /// (`[model] output = "field"`, as equilibrium and flow matching train them): their `grad`
    /// works, so do the samplers that only follow gradients (Langevin, gradient descent,
    /// Nesterov, flow), but `energy` is an error.
    fn has_energy_values(&self) -> bool {
        true
    }

    /// True when the network takes a time t ∈ [0, 1] besides x (flow matching's velocity
    /// field). `energy`/`grad` without a time then mean t = 1, the data end of the path.
    fn time_conditioned(&self) -> bool {
        false
    }

    /// ∇ₓE(x, t) with one time per batch row, `t: [B]`. Time-invariant energies ignore `t`.
    fn grad_at(&self, x: &Tensor, t: &Tensor) -> Result<Tensor> {
        let _ = t;
        self.grad(x)
    }
}

/// The error an energy without energy values (a gradient-field network) returns from `energy`.
pub fn no_energy_values(what: &str) -> Error {
    // No sampler is named here: which ones need energy values is the plugins' business.
    Error::NoEnergyValues { what: what.into() }
}

/// Sets `CANDLE_GRAD_DO_NOT_DETACH=1` unless the variable is already set, so that gradients from
/// `backward()` can themselves be differentiated (score matching of autograd energies, Hessian
/// terms). candle reads the variable once per thread at its first backward: call this at start-up,
/// before any thread runs a backward (`ebm_launch::run_with` and `ebm_train::Trainer::new` do).
pub fn ensure_double_backward() {
    if std::env::var_os(DOUBLE_BACKWARD_ENV).is_none() {
        // Safe in edition 2021; we call it at start-up, before worker threads read the environment.
        std::env::set_var(DOUBLE_BACKWARD_ENV, "1");
    }
}

/// Whether `backward()` on this thread returns gradients that keep their graph (probed on a
/// one-element tensor, so it reflects what candle actually does, not just the environment).
pub fn double_backward_active() -> Result<bool> {
    // The gradient of (2x)² reaches x through the affine node, whose incoming
    // gradient candle detaches by default. (A gradient taken straight off a Var's first op keeps
    // a graph even when detaching, a truncated one, so that would not tell.)
    let x = Var::new(&[1f32], &Device::Cpu)?;
    let grads = x
        .as_tensor()
        .affine(2.0, 0.0)?
        .sqr()?
        .sum_all()?
        .backward()?;
    Ok(grads.get(x.as_tensor()).is_some_and(|g| g.track_op()))
}

/// E(x) and ∇ₓE(x) by autograd, with ∇ₓE left on the graph (unlike
/// [`autograd_energy_and_grad`]), so a loss built on it can be differentiated again with respect
/// to the parameters and to `x`. If `x` is not already tracked (a `Var` or computed from one) a
/// `Var` copy is used. Errors unless double backward is active ([`ensure_double_backward`]).
pub fn differentiable_grad<E: Energy + ?Sized>(energy: &E, x: &Tensor) -> Result<(Tensor, Tensor)> {
    if !double_backward_active()? {
        return Err(Error::DoubleBackwardInactive {
            what: "differentiating this energy's autograd ∇ₓE again".into(),
        });
    }
    let x = if x.track_op() {
        x.clone()
    } else {
        Var::from_tensor(x)?.as_tensor().clone()
    };
    let e = energy.energy(&x)?;
    let grads = e.sum_all()?.backward()?;
    let g = match grads.get(&x) {
        Some(g) => g.clone(),
        None => x.zeros_like()?,
    };
    Ok((e, g))
}

/// E(x) and ∇ₓE(x) by reverse-mode autograd through `energy`. The result is detached.
pub fn autograd_energy_and_grad<E: Energy + ?Sized>(
    energy: &E,
    x: &Tensor,
) -> Result<(Tensor, Tensor)> {
    let x = Var::from_tensor(&x.detach())?;
    let e = energy.energy(x.as_tensor())?;
    let grads = e.sum_all()?.backward()?;
    let g = match grads.get(x.as_tensor()) {
        Some(g) => g.detach(),
        // An energy that does not depend on x has a zero gradient.
        None => x.as_tensor().zeros_like()?,
    };
    Ok((e.detach(), g))
}

/// A named trainable parameter.
#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub var: Var,
}

/// An energy with trainable parameters.
pub trait Model: Energy {
    /// The trainable parameters, in a stable order with stable names (checkpoints key on them).
    fn params(&self) -> Vec<Param>;

    /// A view of the current weights that autograd does not track, for sampling. It shares
    /// storage with the parameters, so making one is cheap.
    fn detached(&self) -> Box<dyn Energy>;

    /// The shape of one input (without the batch dimension).
    fn input_shape(&self) -> Vec<usize>;

    /// E(x) and the parameter gradients of Σᵢ cᵢ·E(xᵢ), where the row weights c = `weights(E)`
    /// may depend on the energies (a loss's ∂L/∂Eᵢ): a forward that keeps its activations, then
    /// one backward seeded with c, with no autograd graph. The store is keyed by the parameters'
    /// tensors, like `backward()`'s, so clipping and all-reduce treat it the same.
    ///
    /// `None` (the default) when the model has no such path for these inputs; it is returned
    /// before `weights` is called, and the caller then uses autograd. Energies and weights are
    /// f32 because the paths that exist are CPU f32 ones.
    fn energy_param_grads(
        &self,
        x: &Tensor,
        weights: &mut dyn FnMut(&[f32]) -> Result<Vec<f32>>,
    ) -> Result<Option<(Vec<f32>, GradStore)>> {
        let _ = (x, weights);
        Ok(None)
    }

    /// State that is not trained but must survive a checkpoint (spectral normalisation's power
    /// iteration vectors), with stable names. Most models have none.
    fn buffers(&self) -> Result<Vec<(String, Tensor)>> {
        Ok(Vec::new())
    }

    /// Restores [`Model::buffers`], checking names and shapes.
    fn load_buffers(&self, saved: &dyn Fn(&str) -> Option<Tensor>) -> Result<()> {
        let _ = saved;
        Ok(())
    }

    /// Overwrites the parameters with saved values, checking names and shapes.
    fn load_params(&self, saved: &dyn Fn(&str) -> Option<Tensor>) -> Result<()> {
        for p in self.params() {
            let t = saved(&p.name).ok_or_else(|| Error::State {
                what: "model".into(),
                message: format!("parameter `{}` missing", p.name),
            })?;
            if t.dims() != p.var.dims() {
                return Err(Error::State {
                    what: "model".into(),
                    message: format!(
                        "parameter `{}` has shape {:?}, the model expects {:?}",
                        p.name,
                        t.dims(),
                        p.var.dims()
                    ),
                });
            }
            p.var.set(&t)?;
        }
        Ok(())
    }
}
