//! Our AdamW is candle-nn's AdamW (same update), plus clipping and a checkpointable state.

use candle_core::{Device, Tensor, Var};
use candle_nn::{AdamW as CandleAdamW, Optimizer, ParamsAdamW};
use ebm_core::Param;
use ebm_train::{AdamW, OptimConfig};

fn loss(w: &Var) -> Tensor {
    // A non-quadratic loss so the moments see varying gradients.
    (w.as_tensor().sqr().unwrap().sum_all().unwrap()
        + w.as_tensor().sin().unwrap().sum_all().unwrap())
    .unwrap()
}

#[test]
fn matches_candle_nn_adamw_step_for_step() {
    let init = Tensor::new(&[[0.5f64, -1.5], [2.0, 0.1]], &Device::Cpu).unwrap();
    let (ours_w, theirs_w) = (
        Var::from_tensor(&init).unwrap(),
        Var::from_tensor(&init).unwrap(),
    );
    let config = OptimConfig {
        lr: 0.05.into(),
        weight_decay: 0.1,
        ..Default::default()
    };
    let mut ours = AdamW::new(
        vec![Param {
            name: "w".into(),
            var: ours_w.clone(),
        }],
        config,
    )
    .unwrap();
    let params = ParamsAdamW {
        lr: 0.05,
        weight_decay: 0.1,
        ..Default::default()
    };
    let mut theirs = CandleAdamW::new(vec![theirs_w.clone()], params).unwrap();
    for _ in 0..25 {
        let g = loss(&ours_w).backward().unwrap();
        let norm = ours.grad_norm(&g).unwrap();
        ours.step(&g, 0.05, norm).unwrap();
        theirs.backward_step(&loss(&theirs_w)).unwrap();
    }
    let diff = (ours_w.as_tensor() - theirs_w.as_tensor())
        .unwrap()
        .abs()
        .unwrap()
        .max_keepdim(0)
        .unwrap()
        .max_keepdim(1)
        .unwrap();
    assert!(diff.flatten_all().unwrap().to_vec1::<f64>().unwrap()[0] < 1e-12);
}

#[test]
fn clipping_bounds_the_first_step() {
    // Adam's first step is lr·sign(g) regardless of scale, so test clipping through the moment:
    // with a clip, m₁ = (1 − β₁)·g·clip/‖g‖.
    let w = Var::from_tensor(&Tensor::new(&[3.0f64, 4.0], &Device::Cpu).unwrap()).unwrap();
    let config = OptimConfig {
        grad_clip: Some(1.0),
        ..Default::default()
    };
    let mut opt = AdamW::new(
        vec![Param {
            name: "w".into(),
            var: w.clone(),
        }],
        config,
    )
    .unwrap();
    // E = ½‖w‖² has gradient w with norm 5.
    let g = (w.as_tensor().sqr().unwrap().sum_all().unwrap() * 0.5)
        .unwrap()
        .backward()
        .unwrap();
    let norm = opt.grad_norm(&g).unwrap();
    assert!((norm - 5.0).abs() < 1e-12);
    opt.step(&g, 1e-3, norm).unwrap();
    let m = opt
        .state()
        .into_iter()
        .find(|(k, _)| k == "optim.m.w")
        .unwrap()
        .1
        .to_vec1::<f64>()
        .unwrap();
    assert!(
        (m[0] - 0.1 * 0.6).abs() < 1e-6 && (m[1] - 0.1 * 0.8).abs() < 1e-6,
        "{m:?}"
    );
}
