//! Replay-buffer augmentation (`[loss] augment` of contrastive divergence): seeded (same stream,
//! same chains), label-free, flips mirror, shifts move content and repeat edges, noise has the
//! asked standard deviation, and bad settings are config errors naming the key.

use candle_core::{Device, Tensor};
use ebm_core::rng;
use ebm_losses::{AugmentParams, CdParams, ContrastiveDivergence};

fn images(n: usize) -> Tensor {
    let v: Vec<f32> = (0..n * 2 * 4 * 5)
        .map(|i| (i as f32 * 0.37).sin())
        .collect();
    Tensor::from_vec(v, (n, 2, 4, 5), &Device::Cpu).unwrap()
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

#[test]
fn same_stream_same_augmentation_and_inactive_is_identity() {
    let a = AugmentParams {
        flip: true,
        shift: 2,
        noise: 0.05,
    };
    let x = images(16);
    let one = a.apply(&x, &mut rng::stream(7, "sampler", 0)).unwrap();
    let two = a.apply(&x, &mut rng::stream(7, "sampler", 0)).unwrap();
    assert_eq!(values(&one), values(&two));
    assert_ne!(values(&one), values(&x));
    let other = a.apply(&x, &mut rng::stream(8, "sampler", 0)).unwrap();
    assert_ne!(values(&one), values(&other));
    assert!(!AugmentParams::default().is_active());
}

#[test]
fn flips_mirror_and_shifts_repeat_edges() {
    let x = images(64);
    let xs = values(&x);
    let per = 2 * 4 * 5;
    // Flip only: every chain is itself or its mirror image, and both happen.
    let flip = AugmentParams {
        flip: true,
        ..Default::default()
    };
    let y = values(&flip.apply(&x, &mut rng::stream(1, "s", 0)).unwrap());
    let (mut same, mut mirrored) = (0, 0);
    for (a, b) in xs.chunks(per).zip(y.chunks(per)) {
        let mirror: Vec<f32> = a
            .chunks(5)
            .flat_map(|row| row.iter().rev().copied())
            .collect();
        if a == b {
            same += 1;
        } else {
            assert_eq!(b, &mirror[..], "a flip is a left-right mirror");
            mirrored += 1;
        }
    }
    assert!(
        same > 10 && mirrored > 10,
        "{same} kept, {mirrored} flipped"
    );

    // Shift only: each output row/column is an input row/column (edges repeated), every value
    // comes from the same chain and channel.
    let shift = AugmentParams {
        shift: 1,
        ..Default::default()
    };
    let y = values(&shift.apply(&x, &mut rng::stream(2, "s", 0)).unwrap());
    let mut moved = 0;
    for (a, b) in xs.chunks(per).zip(y.chunks(per)) {
        for (pa, pb) in a.chunks(20).zip(b.chunks(20)) {
            assert!(
                pb.iter().all(|v| pa.contains(v)),
                "values stay in their plane"
            );
        }
        moved += usize::from(a != b);
    }
    assert!(moved > 32, "most chains move ({moved} of 64)");
}

#[test]
fn noise_has_the_asked_standard_deviation() {
    let x = Tensor::zeros((200, 1, 10, 10), candle_core::DType::F32, &Device::Cpu).unwrap();
    let a = AugmentParams {
        noise: 0.1,
        ..Default::default()
    };
    let y = values(&a.apply(&x, &mut rng::stream(3, "s", 0)).unwrap());
    let n = y.len() as f64;
    let mean = y.iter().map(|&v| v as f64).sum::<f64>() / n;
    let sd = (y.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
    assert!(
        mean.abs() < 0.003 && (sd - 0.1).abs() < 0.003,
        "mean {mean}, sd {sd}"
    );
}

#[test]
fn bad_settings_name_the_key() {
    use ebm_core::Loss;
    let bad = |params: CdParams, shape: &[usize]| -> String {
        match ContrastiveDivergence::new(params) {
            Err(e) => e.to_string(),
            Ok(mut cd) => cd
                .init(shape, &mut rng::stream(0, "c", 0))
                .expect_err("refused at init")
                .to_string(),
        }
    };
    let with = |augment| CdParams {
        augment,
        ..Default::default()
    };
    let e = bad(
        with(AugmentParams {
            noise: -1.0,
            ..Default::default()
        }),
        &[1, 8, 8],
    );
    assert!(e.contains("loss.augment.noise"), "{e}");
    let e = bad(
        with(AugmentParams {
            flip: true,
            ..Default::default()
        }),
        &[2],
    );
    assert!(e.contains("loss.augment") && e.contains("[2]"), "{e}");
    let e = bad(
        with(AugmentParams {
            shift: 8,
            ..Default::default()
        }),
        &[1, 8, 8],
    );
    assert!(e.contains("loss.augment.shift"), "{e}");
    let e = bad(
        CdParams {
            persistent: false,
            ..with(AugmentParams {
                flip: true,
                ..Default::default()
            })
        },
        &[1, 8, 8],
    );
    assert!(e.contains("persistent"), "{e}");
}
