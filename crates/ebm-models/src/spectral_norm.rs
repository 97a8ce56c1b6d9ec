//! Spectral normalisation (Miyato et al. 2018): a layer uses W / σ(W), where σ(W) is the largest
//! singular value of W reshaped to `[out, in·k·k]`, estimated by power iteration.
//!
//! The estimate lives in two unit vectors, u (`[out]`) and v (`[in·k·k]`), kept between steps:
//! - a training forward runs one power iteration on the detached W (v ← Wᵀu/‖Wᵀu‖,
//!   u ← Wv/‖Wv‖), then uses σ = uᵀWv, which is differentiable with respect to W but not through
//!   u and v (as PyTorch does);
//! - a sampling view ([`ebm_core::Model::detached`]) reads the current u and v and updates nothing,
//!   so a chain of sampler steps sees one fixed energy.
//!
//! u and v are state, not parameters: a checkpoint must save and restore them
//! ([`SpectralNorm::vectors`] / [`SpectralNorm::load`]), or a resumed run would start from a
//! different σ. The state is shared (`Arc`) between a model and its detached views.

use candle_core::{DType, Tensor};
use ebm_core::{Error, Result, Rng};
use std::sync::{Arc, Mutex, MutexGuard};

/// Power iterations at construction (as `torch.nn.utils.parametrizations.spectral_norm`), so the
/// first forward already divides by a good estimate of σ.
pub const INIT_ITERATIONS: usize = 15;

/// Keeps ‖·‖ away from 0 (PyTorch's eps).
const EPS: f64 = 1e-12;

struct Vectors {
    u: Tensor,
    v: Tensor,
}

/// The power-iteration state of one weight.
#[derive(Clone)]
pub struct SpectralNorm {
    state: Arc<Mutex<Vectors>>,
}

fn unit(t: &Tensor) -> Result<Tensor> {
    let norm = (t.sqr()?.sum_all()?.sqrt()? + EPS)?;
    Ok(t.broadcast_div(&norm)?)
}

/// W as a matrix `[out, rest]`.
fn matrix(w: &Tensor) -> Result<Tensor> {
    Ok(w.flatten_from(1)?)
}

impl SpectralNorm {
    /// Seeded u ~ N(0, I)/‖·‖ from our generator, then [`INIT_ITERATIONS`] power iterations on `w`.
    pub fn new(w: &Tensor, rng: &mut Rng) -> Result<Self> {
        let out = w.dims()[0];
        let u = ebm_core::rng::randn(rng, &[out], w.device())?.to_dtype(w.dtype())?;
        let u = unit(&u)?;
        let v = unit(&u.unsqueeze(0)?.matmul(&matrix(&w.detach())?)?.squeeze(0)?)?;
        let sn = SpectralNorm {
            state: Arc::new(Mutex::new(Vectors { u, v })),
        };
        sn.power_iterate(w, INIT_ITERATIONS)?;
        Ok(sn)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Vectors>> {
        self.state
            .lock()
            .map_err(|_| Error::Msg("spectral norm state poisoned by a panic".into()))
    }

    /// `n` power iterations on the detached `w`, updating u and v.
    pub fn power_iterate(&self, w: &Tensor, n: usize) -> Result<()> {
        let m = matrix(&w.detach())?;
        let mut s = self.lock()?;
        for _ in 0..n {
            let v = unit(&s.u.unsqueeze(0)?.matmul(&m)?.squeeze(0)?)?;
            let u = unit(&m.matmul(&v.unsqueeze(1)?)?.squeeze(1)?)?;
            *s = Vectors { u, v };
        }
        Ok(())
    }

    /// σ = uᵀWv with the current u and v: a scalar tensor, differentiable with respect to `w`.
    pub fn sigma(&self, w: &Tensor) -> Result<Tensor> {
        let s = self.lock()?;
        let (u, v) = (s.u.to_dtype(w.dtype())?, s.v.to_dtype(w.dtype())?);
        drop(s);
        Ok(u.unsqueeze(0)?
            .matmul(&matrix(w)?)?
            .matmul(&v.unsqueeze(1)?)?
            .reshape(())?)
    }

    /// W/σ(W); with `update`, one power iteration first (a training forward).
    pub fn normalise(&self, w: &Tensor, update: bool) -> Result<Tensor> {
        if update {
            self.power_iterate(w, 1)?;
        }
        Ok(w.broadcast_div(&self.sigma(w)?)?)
    }

    /// Copies of (u, v).
    pub fn vectors(&self) -> Result<(Tensor, Tensor)> {
        let s = self.lock()?;
        Ok((s.u.copy()?, s.v.copy()?))
    }

    /// Restores saved (u, v), checking shapes; `name` is the layer, for the error.
    pub fn load(&self, name: &str, u: &Tensor, v: &Tensor) -> Result<()> {
        let mut s = self.lock()?;
        for (what, saved, current) in [("u", u, &s.u), ("v", v, &s.v)] {
            if saved.dims() != current.dims() {
                return Err(Error::State {
                    what: "model".into(),
                    message: format!(
                        "spectral-norm vector `{name}.weight_{what}` has shape {:?}, the model expects {:?}",
                        saved.dims(),
                        current.dims()
                    ),
                });
            }
        }
        let dtype: DType = s.u.dtype();
        let device = s.u.device().clone();
        *s = Vectors {
            u: u.to_dtype(dtype)?.to_device(&device)?,
            v: v.to_dtype(dtype)?.to_device(&device)?,
        };
        Ok(())
    }
}
