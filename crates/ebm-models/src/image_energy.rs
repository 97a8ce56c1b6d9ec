//! What the conv and ResNet energies share beyond their layers (`layer.rs`): the spectral-norm
//! plumbing over all their weighted layers, and the dispatch to their fused CPU path (which
//! views take it, on which device and dtypes, and the conversion between tensors and the
//! buffers the fused networks run on).

use crate::conv_fused::LayerGrads;
use crate::layer::{self, Layer};
use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor};
use ebm_core::{autograd_energy_and_grad, Energy, Error, Result};
use ebm_kernels::Real;

/// Per layer, the gradients with respect to its weight and its bias.
pub(crate) type LayerGradTensors = Vec<(Tensor, Tensor)>;

/// The row weights of a fused parameter gradient: c = `weights(E)`.
pub(crate) type RowWeights<'a, T> = dyn FnMut(&[T]) -> Result<Vec<T>> + 'a;

/// An image energy made of [`Layer`]s with a fused CPU path (`conv_fused`).
pub(crate) trait ImageEnergy: Energy + Sized {
    /// Every weighted layer, in checkpoint order; the fused network gets their effective
    /// weights in this order.
    fn layers(&self) -> Vec<&Layer>;

    /// `[C, H, W]` of one input image.
    fn image_shape(&self) -> [usize; 3];

    /// Whether E and ∇ₓE take the fused path (a sampling view, not the trainable model).
    fn fused_view(&self) -> bool;

    /// Builds the fused network from `weights` (W/σ at the current estimate, in
    /// [`ImageEnergy::layers`] order) and runs it on the images `x` (`[B, C, H, W]` row-major):
    /// E per image and, if `want_grad`, ∇ₓE in the layout of `x`.
    fn run_fused<T: Real>(
        &self,
        weights: &[Tensor],
        x: &[T],
        want_grad: bool,
    ) -> Result<(Vec<T>, Option<Vec<T>>)>;

    /// Whether this is the trainable model (its forwards run a power iteration), not a view.
    fn trainable(&self) -> bool;

    /// The fused network from `weights` (as in [`ImageEnergy::run_fused`]) on the images `x`:
    /// E per image and the gradients of Σᵢ cᵢ·E(xᵢ), c = `c(E)`, with respect to every layer's
    /// weight in `weights` and its bias, in [`ImageEnergy::layers`] order.
    fn run_fused_param_grads<T: Real>(
        &self,
        weights: &[Tensor],
        x: &[T],
        c: &mut RowWeights<'_, T>,
    ) -> Result<(Vec<T>, Vec<LayerGrads<T>>)>;

    /// The trainable model's E and parameter gradients of Σᵢ cᵢ·E(xᵢ) by the fused path, as a
    /// training forward + backward computes them: one power iteration per spectrally normalised
    /// layer, then W/σ with σ = uᵀWv differentiated with u and v held fixed,
    /// ∂/∂W = G/σ − (⟨G, W/σ⟩/σ)·u vᵀ for G = ∂/∂(W/σ). Per layer (∂/∂W, ∂/∂b) as tensors in the
    /// layer's shapes. An error on a view or a non-CPU input; `T` must be the weights' dtype.
    fn fused_param_grads<T: Real>(
        &self,
        x: &Tensor,
        c: &mut RowWeights<'_, T>,
    ) -> Result<(Vec<T>, LayerGradTensors)> {
        if !self.trainable() || !x.device().is_cpu() {
            return Err(Error::invalid_argument(
                "fused parameter gradients",
                "need the trainable model and a CPU input",
            ));
        }
        self.power_iterate_all(1)?;
        let layers = self.layers();
        let weights = layers
            .iter()
            .map(|l| l.weight(false))
            .collect::<Result<Vec<_>>>()?;
        let images = layer::as_images(x, self.image_shape())?;
        let values = images.flatten_all()?.to_vec1::<T>()?;
        let (e, grads) = self.run_fused_param_grads(&weights, &values, c)?;
        let mut out = Vec::with_capacity(layers.len());
        for ((l, w_eff), g) in layers.iter().zip(&weights).zip(grads) {
            let raw = l.raw_weight();
            let gw = Tensor::from_vec(g.w, raw.shape(), raw.device())?;
            let gw = match l.spectral_norm() {
                None => gw,
                Some(sn) => {
                    let sigma = sn.sigma(raw)?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
                    let (u, v) = sn.vectors()?;
                    let inner = (&gw * w_eff)?
                        .sum_all()?
                        .to_dtype(DType::F64)?
                        .to_scalar::<f64>()?;
                    let uv = u
                        .to_dtype(raw.dtype())?
                        .unsqueeze(1)?
                        .matmul(&v.to_dtype(raw.dtype())?.unsqueeze(0)?)?
                        .reshape(raw.shape())?;
                    ((gw / sigma)? - (uv * (inner / sigma))?)?
                }
            };
            let bias = l.bias();
            out.push((gw, Tensor::from_vec(g.b, bias.shape(), bias.device())?));
        }
        Ok((e, out))
    }

    /// [`ebm_core::Model::energy_param_grads`] for an image energy: the fused path for the
    /// trainable model on CPU f32 inputs and weights, `None` (autograd) elsewhere.
    fn energy_param_grads_fused(
        &self,
        x: &Tensor,
        c: &mut RowWeights<'_, f32>,
    ) -> Result<Option<(Vec<f32>, GradStore)>> {
        let f32_weights = self.layers().iter().all(|l| l.dtype() == DType::F32);
        if !self.trainable() || !x.device().is_cpu() || x.dtype() != DType::F32 || !f32_weights {
            return Ok(None);
        }
        let (e, grads) = self.fused_param_grads::<f32>(x, c)?;
        let mut store = GradStore::default();
        for (l, (gw, gb)) in self.layers().iter().zip(grads) {
            store.insert(l.raw_weight(), gw);
            store.insert(l.bias(), gb);
        }
        Ok(Some((e, store)))
    }

    /// E (and ∇ₓE if `want_grad`) by the fused path, or `None` where it does not apply (the
    /// trainable model, a non-CPU device, a dtype other than the weights' f32/f64).
    fn fused(&self, x: &Tensor, want_grad: bool) -> Result<Option<(Tensor, Option<Tensor>)>> {
        let dtype = self.layers().first().map(|l| l.dtype());
        if !self.fused_view() || !x.device().is_cpu() || Some(x.dtype()) != dtype {
            return Ok(None);
        }
        Ok(match x.dtype() {
            DType::F32 => Some(self.fused_as::<f32>(x, want_grad)?),
            DType::F64 => Some(self.fused_as::<f64>(x, want_grad)?),
            _ => None,
        })
    }

    /// [`ImageEnergy::fused`] in element type `T`.
    fn fused_as<T: Real>(&self, x: &Tensor, want_grad: bool) -> Result<(Tensor, Option<Tensor>)> {
        let images = layer::as_images(x, self.image_shape())?;
        let weights = self
            .layers()
            .iter()
            .map(|l| l.weight(false))
            .collect::<Result<Vec<_>>>()?;
        let values = images.flatten_all()?.to_vec1::<T>()?;
        let (e, g) = self.run_fused(&weights, &values, want_grad)?;
        let device = x.device();
        let e = Tensor::from_vec(e, images.dims()[0], device)?;
        let g = g
            .map(|g| Tensor::from_vec(g, x.dims(), device))
            .transpose()?;
        Ok((e, g))
    }

    /// E and ∇ₓE by the fused path where it applies, by autograd elsewhere.
    fn fused_or_autograd(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        match self.fused(x, true)? {
            Some((e, Some(g))) => Ok((e, g)),
            _ => autograd_energy_and_grad(self, x),
        }
    }

    /// `n` power iterations on every spectrally normalised layer.
    fn power_iterate_all(&self, n: usize) -> Result<()> {
        for l in self.layers() {
            if let Some(sn) = l.spectral_norm() {
                sn.power_iterate(l.raw_weight(), n)?;
            }
        }
        Ok(())
    }

    /// The weights the forwards use, by layer name, without updating any estimate.
    fn effective_weights_all(&self) -> Result<Vec<(String, Tensor)>> {
        self.layers()
            .iter()
            .map(|l| Ok((l.name().to_string(), l.weight(false)?.detach())))
            .collect()
    }

    /// The spectral-norm vectors of every layer (empty without spectral norm).
    fn buffers_all(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out = Vec::new();
        for l in self.layers() {
            l.buffers(&mut out)?;
        }
        Ok(out)
    }

    /// Restores [`ImageEnergy::buffers_all`], checking names and shapes.
    fn load_buffers_all(&self, saved: &dyn Fn(&str) -> Option<Tensor>) -> Result<()> {
        self.layers().iter().try_for_each(|l| l.load_buffers(saved))
    }
}
