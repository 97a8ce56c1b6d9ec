//! The ResNet energy's fused CPU path (its sampling view) against candle's ops and autograd on
//! the same detached weights: energies and ∇ₓE agree to rounding (f64: 1e-10, f32: 1e-4 relative
//! to the largest entry) with and without skip convs, spectral norm, each activation and pool.

mod common;

use candle_core::{DType, Device};
use common::{images, relative_error};
use ebm_core::{autograd_energy_and_grad, rng, Model};
use ebm_models::{Activation, Pool, ResNet, ResNetConfig};

fn check(name: &str, config: &ResNetConfig, x_shape: &[usize], dtype: DType, tol: f64) {
    let mut r = rng::stream(9, "init", 0);
    let model = ResNet::new_with_dtype(config, &x_shape[1..], &mut r, &Device::Cpu, dtype).unwrap();
    let x = images(13, x_shape, dtype);
    let fused = model.detached();
    let (e, g) = fused.energy_and_grad(&x).unwrap();
    let (e_ref, g_ref) = autograd_energy_and_grad(&model.detached_autograd(), &x).unwrap();
    assert_eq!(g.dims(), x.dims(), "{name}: ∇ₓE shape");
    let (de, dg) = (relative_error(&e, &e_ref), relative_error(&g, &g_ref));
    assert!(de < tol, "{name}: energies differ by {de:e} (relative)");
    assert!(dg < tol, "{name}: ∇ₓE differs by {dg:e} (relative)");
    assert!(
        relative_error(&fused.energy(&x).unwrap(), &e) < 1e-12,
        "{name}: energy"
    );
}

#[test]
fn fused_resnet_matches_autograd_f64() {
    use Activation::*;
    // (channels, blocks, activation, spectral norm, pool, input [B, C, H, W])
    let cases = [
        (vec![4, 6], vec![1, 2], Elu, false, Pool::Sum, [2, 3, 8, 8]),
        (
            vec![4, 4],
            vec![2, 1],
            Swish,
            true,
            Pool::Mean,
            [3, 1, 6, 10],
        ),
        (
            vec![3, 5, 5],
            vec![1, 1, 1],
            Silu,
            false,
            Pool::Mean,
            [1, 2, 8, 12],
        ),
        (vec![5], vec![2], Tanh, true, Pool::Sum, [5, 3, 7, 5]),
        (
            vec![2, 3],
            vec![0, 1],
            Softplus,
            false,
            Pool::Sum,
            [4, 2, 4, 6],
        ),
    ];
    for (i, (channels, blocks, activation, spectral_norm, pool, shape)) in
        cases.into_iter().enumerate()
    {
        let config = ResNetConfig {
            channels,
            blocks,
            activation,
            swish_beta: 1.3,
            spectral_norm,
            pool,
        };
        let name = format!("case {i} ({activation:?}, sn={spectral_norm}, {pool:?})");
        check(&name, &config, &shape, DType::F64, 1e-10);
    }
}

#[test]
fn fused_resnet_matches_autograd_f32() {
    let config = ResNetConfig {
        channels: vec![8, 16],
        blocks: vec![1, 1],
        spectral_norm: true,
        ..ResNetConfig::default()
    };
    check("resnet f32", &config, &[3, 3, 16, 16], DType::F32, 1e-4);
}
