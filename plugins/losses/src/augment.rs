//! Augmentation of replay-buffer chains before the sampler advances them
//! (`[loss] augment = { flip = true, shift = 2, noise = 0.01 }` of contrastive divergence).
//!
//! Why (Du et al. 2021, "Improved Contrastive Divergence"): a persistent chain that is only ever
//! moved by short Langevin runs mixes slowly between modes; a random transformation of the
//! drawn chain (a mirror image, a shift by a pixel or two, a little noise) jumps it to a nearby
//! image of the same kind, so the buffer explores more and its samples stay diverse. It uses no
//! labels and draws from the sampler's seeded stream, so runs stay reproducible.
//!
//! Images only: chains of shape `[C, H, W]`.

use candle_core::Tensor;
use ebm_core::{rng, Error, Result, Rng};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// `[loss] augment`: what to apply to each drawn chain, each independently per chain.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AugmentParams {
    /// Mirror left–right with probability ½.
    pub flip: bool,
    /// Shift by a uniform integer in [−shift, shift] pixels along each axis, repeating the edge
    /// pixels into the gap.
    pub shift: usize,
    /// Standard deviation of Gaussian noise added to every pixel.
    pub noise: f64,
}

impl AugmentParams {
    pub fn validate(&self, key: &str) -> Result<()> {
        if !(self.noise >= 0.0 && self.noise.is_finite()) {
            return Err(Error::config(
                format!("{key}.noise"),
                format!("must be a finite number >= 0, got {}", self.noise),
            ));
        }
        Ok(())
    }

    /// Whether it changes anything.
    pub fn is_active(&self) -> bool {
        self.flip || self.shift > 0 || self.noise > 0.0
    }

    /// Checks that chains of `shape` are images and the shift fits them.
    pub fn check_shape(&self, shape: &[usize], key: &str) -> Result<()> {
        match shape {
            [_, h, w] if self.shift < *h && self.shift < *w => Ok(()),
            [_, h, w] => Err(Error::config(
                format!("{key}.shift"),
                format!("{} does not fit {h}×{w} images", self.shift),
            )),
            _ => Err(Error::config(
                key,
                format!("augments images [C, H, W]; these chains have shape {shape:?}"),
            )),
        }
    }

    /// The augmented chains `x` (`[n, C, H, W]`), drawn from `rng`.
    pub fn apply(&self, x: &Tensor, rng: &mut Rng) -> Result<Tensor> {
        let &[_, c, h, w] = x.dims() else {
            return Err(Error::shape(
                "augmented chains",
                format!("{:?} is not [n, C, H, W]", x.dims()),
            ));
        };
        let mut values = x.flatten_all()?.to_vec1::<f32>()?;
        let per = c * h * w;
        for chain in values.chunks_exact_mut(per) {
            let flip = self.flip && rng.random::<bool>();
            let shift = self.shift as i64;
            let (dy, dx) = if shift > 0 {
                (
                    rng.random_range(-shift..=shift),
                    rng.random_range(-shift..=shift),
                )
            } else {
                (0, 0)
            };
            if flip || dy != 0 || dx != 0 {
                transform(chain, (c, h, w), flip, (dy, dx));
            }
        }
        if self.noise > 0.0 {
            let noise = rng::normal_vec(rng, values.len());
            for (v, e) in values.iter_mut().zip(noise) {
                *v += e * self.noise as f32;
            }
        }
        Ok(Tensor::from_vec(values, x.dims(), x.device())?)
    }
}

/// out[c, y, x] = in[c, clamp(y − dy), clamp(x' − dx)] with x' = W − 1 − x when flipped.
fn transform(
    chain: &mut [f32],
    (c, h, w): (usize, usize, usize),
    flip: bool,
    (dy, dx): (i64, i64),
) {
    let src = chain.to_vec();
    let at = |i: i64, n: usize| i.clamp(0, n as i64 - 1) as usize;
    for ch in 0..c {
        let plane = &src[ch * h * w..(ch + 1) * h * w];
        for y in 0..h {
            let sy = at(y as i64 - dy, h);
            for x in 0..w {
                let sx = at(x as i64 - dx, w);
                let sx = if flip { w - 1 - sx } else { sx };
                chain[ch * h * w + y * w + x] = plane[sy * w + sx];
            }
        }
    }
}
