//! What the conv and ResNet energies share beyond their layers (`layer.rs`): the spectral-norm
//! plumbing over all their weighted layers, and the dispatch to their fused CPU path (which
//! views take it, on which device and dtypes, and the conversion between tensors and the
//! buffers the fused networks run on).

use crate::layer::{self, Layer};
use candle_core::{DType, Tensor};
use ebm_core::{autograd_energy_and_grad, Energy, Result};
use ebm_kernels::Real;

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
