use super::*;
use candle_core::{Device, Tensor};

const ALL: [Activation; 5] = [
    Activation::Silu,
    Activation::Swish,
    Activation::Elu,
    Activation::Tanh,
    Activation::Softplus,
];

fn grid() -> Vec<f32> {
    (0..203).map(|i| (i as f32 - 100.0) * 0.137).collect()
}

#[test]
fn vector_lanes_and_scalar_tails_give_the_same_values() {
    let z = grid();
    for act in ALL {
        let (mut a, mut d) = (z.clone(), vec![0.0; z.len()]);
        activate(act, 0.7, &mut a, &mut d);
        // One element at a time: the scalar code, whatever `activate` dispatched to.
        let (mut a0, mut d0) = (z.clone(), vec![0.0; z.len()]);
        for i in 0..z.len() {
            activate(act, 0.7, &mut a0[i..=i], &mut d0[i..=i]);
        }
        for i in 0..z.len() {
            assert!(
                (a[i] - a0[i]).abs() <= 1e-6 * a0[i].abs().max(1.0),
                "{act:?}"
            );
            assert!(
                (d[i] - d0[i]).abs() <= 1e-6 * d0[i].abs().max(1.0),
                "{act:?}"
            );
        }
    }
}

#[test]
fn the_slice_kernels_are_phi_element_by_element() {
    let z = grid();
    for act in ALL {
        let (mut a, mut d) = (z.clone(), vec![0.0; z.len()]);
        activate(act, 0.7, &mut a, &mut d);
        let (mut ab, mut db) = (z.clone(), vec![0.0; z.len()]);
        activate_biased(act, 0.7, &mut ab, &mut db, 0.25);
        for i in 0..z.len() {
            let (v, dv) = phi(act, 0.7, z[i]);
            assert_eq!(
                (a[i].to_bits(), d[i].to_bits()),
                (v.to_bits(), dv.to_bits())
            );
            let (v, dv) = phi(act, 0.7, z[i] + 0.25);
            assert_eq!((ab[i], db[i]), (v, dv), "{act:?} with bias");
        }
    }
}

/// The candle-op form in f64 as the reference for both slice forms.
fn reference(act: Activation, beta: f64, z: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let t = Tensor::new(z, &Device::Cpu).expect("tensor");
    let v = act.apply(&t, beta).and_then(|v| v.to_vec1::<f64>());
    let d = act.derivative(&t, beta).and_then(|d| d.to_vec1::<f64>());
    (v.expect("φ"), d.expect("φ′"))
}

#[test]
fn slice_kernels_agree_with_the_candle_ops() {
    let z32 = grid();
    let z64: Vec<f64> = z32.iter().map(|&v| v as f64).collect();
    for act in ALL {
        let (v_ref, d_ref) = reference(act, 0.7, &z64);
        let (mut a, mut d) = (z32.clone(), vec![0.0f32; z32.len()]);
        activate(act, 0.7, &mut a, &mut d);
        let (mut a64, mut d64) = (z64.clone(), vec![0.0f64; z64.len()]);
        activate(act, 0.7, &mut a64, &mut d64);
        for i in 0..z32.len() {
            let tol = |r: f64, rel: f64| rel * r.abs().max(1.0);
            assert!(
                (a[i] as f64 - v_ref[i]).abs() <= tol(v_ref[i], 2e-6),
                "{act:?} f32 φ({})",
                z32[i]
            );
            assert!(
                (d[i] as f64 - d_ref[i]).abs() <= tol(d_ref[i], 2e-6),
                "{act:?} f32 φ′({})",
                z32[i]
            );
            assert!(
                (a64[i] - v_ref[i]).abs() <= tol(v_ref[i], 1e-13),
                "{act:?} f64 φ"
            );
            assert!(
                (d64[i] - d_ref[i]).abs() <= tol(d_ref[i], 1e-13),
                "{act:?} f64 φ′"
            );
        }
    }
}

#[test]
fn mul_in_place_multiplies_elementwise() {
    let mut g = vec![1.0f32, -2.0, 3.0, 0.5];
    mul_in_place(&mut g, &[2.0, 2.0, -1.0, 4.0]);
    assert_eq!(g, [2.0, -4.0, -3.0, 2.0]);
}

#[test]
fn activation_names_in_toml() {
    #[derive(serde::Deserialize)]
    struct M {
        activation: Activation,
    }
    let m: M = toml::from_str("activation = \"softplus\"").expect("toml");
    assert_eq!(m.activation, Activation::Softplus);
    assert!(toml::from_str::<M>("activation = \"relu\"").is_err());
}
