//! The Langevin move x ← x − η·g + c·ε (then clamp) as one loop over the chains' memory, for
//! CPU f32 contiguous tensors. Through candle it is five ops, each allocating its output and
//! paying a dispatch; at 10 chains those cost more than the fused ∇ₓE itself. The arithmetic is
//! the op path's, operation for operation in f32 (η and c rounded to f32 as candle's scalar ops
//! round them), and the noise the same draws in the same order, so either path gives the same
//! chains.

use candle_core::{Device, Tensor};
use ebm_core::{rng, Result, Rng};
use ebm_kernels::cpu::with_cpu_slice;

/// `clamp(x − η·g + √(2η)·s·ε)`, or `None` when x and g are not CPU f32 contiguous of one shape
/// (the caller then takes the op path).
pub(crate) fn langevin_move(
    x: &Tensor,
    g: &Tensor,
    eta: f64,
    scale: f64,
    clamp: Option<[f64; 2]>,
    rng: &mut Rng,
) -> Result<Option<Tensor>> {
    if x.shape() != g.shape() || !matches!(x.device(), Device::Cpu) {
        return Ok(None);
    }
    let eta32 = eta as f32;
    let Some(Some(mut next)) = with_cpu_slice::<f32, _>(x, |xs| {
        with_cpu_slice::<f32, _>(g, |gs| {
            xs.iter()
                .zip(gs)
                .map(|(x, g)| x - g * eta32)
                .collect::<Vec<f32>>()
        })
    }) else {
        return Ok(None);
    };
    if scale > 0.0 {
        rng::add_scaled_normal(rng, ((2.0 * eta).sqrt() * scale) as f32, &mut next);
    }
    if let Some([lo, hi]) = clamp {
        let (lo, hi) = (lo as f32, hi as f32);
        for v in &mut next {
            *v = v.max(lo).min(hi);
        }
    }
    Ok(Some(Tensor::from_vec(next, x.shape(), x.device())?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::langevin::noise_and_clamp;
    use candle_core::DType;

    #[test]
    fn raw_move_is_the_op_path_bit_for_bit() {
        let dev = Device::Cpu;
        let x = rng::randn(&mut rng::stream(1, "x", 0), &[37, 3], &dev).expect("x");
        let g =
            (rng::randn(&mut rng::stream(2, "g", 0), &[37, 3], &dev).expect("g") * 3.0).expect("g");
        for (eta, scale, clamp) in [
            (0.01, 1.0, None),
            (0.3, 0.05, Some([-1.0, 1.0])),
            (0.1, 0.0, None),
        ] {
            let mut r1 = rng::stream(3, "noise", 0);
            let mut r2 = r1.clone();
            let raw = langevin_move(&x, &g, eta, scale, clamp, &mut r1)
                .expect("raw")
                .expect("covered");
            let ops = noise_and_clamp(
                (&x - (&g * eta).expect("g")).expect("x"),
                eta,
                scale,
                clamp,
                &mut r2,
            )
            .expect("ops");
            let bits = |t: &Tensor| -> Vec<u32> {
                t.flatten_all()
                    .and_then(|t| t.to_vec1::<f32>())
                    .expect("f32")
                    .iter()
                    .map(|v| v.to_bits())
                    .collect()
            };
            assert_eq!(bits(&raw), bits(&ops), "η={eta} s={scale} clamp={clamp:?}");
            assert_eq!(ebm_core::RngState::of(&r1), ebm_core::RngState::of(&r2));
        }
    }

    #[test]
    fn other_dtypes_and_layouts_are_left_to_the_op_path() {
        let dev = Device::Cpu;
        let x = Tensor::zeros((4, 2), DType::F64, &dev).expect("x");
        let mut r = rng::stream(0, "n", 0);
        assert!(langevin_move(&x, &x, 0.1, 1.0, None, &mut r)
            .expect("ok")
            .is_none());
        let x = Tensor::zeros((2, 4), DType::F32, &dev)
            .expect("x")
            .t()
            .expect("t");
        assert!(langevin_move(&x, &x, 0.1, 1.0, None, &mut r)
            .expect("ok")
            .is_none());
    }
}
