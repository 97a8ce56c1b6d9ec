//! Mode coverage: the classifier's predicted-class histogram counts arg-max logits. On a
//! hand-built classifier (identity weights: the class is the brightest pixel) the counts are
//! known in advance; on a seeded random one they match arg-max counts taken from its logits.

use candle_core::{Device, Tensor};
use ebm_core::rng;
use ebm_eval::classifier::{class_names, ClassHistogram, Classifier};
use rand::Rng as _;

#[test]
fn a_hand_built_classifier_counts_the_brightest_pixel() {
    // One linear layer, weights I₄, bias 0: logits = pixels of a 2×2 image.
    let w = Tensor::eye(4, candle_core::DType::F32, &Device::Cpu).unwrap();
    let b = Tensor::zeros(4, candle_core::DType::F32, &Device::Cpu).unwrap();
    let net = Classifier::from_tensors(vec![(w, b)]).unwrap();
    assert_eq!(net.classes(), 4);
    // Brightest pixel of each image: 0, 2, 2, 3, 2, 0.
    let images = [
        [0.9, 0.1, -0.5, 0.0],
        [0.0, 0.1, 0.5, 0.2],
        [-1.0, -0.9, -0.1, -0.8],
        [0.0, 0.1, 0.2, 0.3],
        [0.3, 0.2, 0.4, 0.1],
        [1.0, -1.0, -1.0, -1.0],
    ];
    let flat: Vec<f32> = images.iter().flatten().copied().collect();
    let x = Tensor::from_vec(flat, (6, 1, 2, 2), &Device::Cpu).unwrap();
    // Batches of 4 split the set: the counts do not depend on the batching.
    let h = net.class_histogram(&x, 4).unwrap();
    assert_eq!(h.counts, [2, 0, 3, 1]);
    assert_eq!(h.counts.iter().sum::<usize>(), 6);
    let want = [2.0 / 6.0, 0.0, 0.5, 1.0 / 6.0];
    for (f, w) in h.fractions.iter().zip(want) {
        assert!((f - w).abs() < 1e-12, "{h:?}");
    }
    assert_eq!(h.min_class_fraction, 0.0);
    assert_eq!(h.summary(), "0:33.3% 1:0.0% 2:50.0% 3:16.7% min 0.0%");
}

#[test]
fn histogram_matches_argmax_counts_of_a_random_classifier() {
    let net = Classifier::new(12, &[8], 5, &mut rng::stream(1, "test-net", 0)).unwrap();
    let mut r = rng::stream(1, "test-x", 0);
    let n = 300;
    let v: Vec<f32> = (0..n * 12).map(|_| r.random_range(-3.0f32..=3.0)).collect();
    let x = Tensor::from_vec(v, (n, 1, 3, 4), &Device::Cpu).unwrap();
    let logits = net.forward(&x).unwrap().1.to_vec2::<f32>().unwrap();
    let mut want = [0usize; 5];
    for row in &logits {
        let best = (0..5).fold(0, |b, j| if row[j] > row[b] { j } else { b });
        want[best] += 1;
    }
    let h = net.class_histogram(&x, 64).unwrap();
    assert_eq!(h.counts, want);
    assert_eq!(h.counts.iter().sum::<usize>(), n);
    assert!((h.fractions.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    let smallest = *want.iter().min().unwrap() as f64 / n as f64;
    assert_eq!(h.min_class_fraction, smallest);
    assert!(want.iter().filter(|&&c| c > 0).count() >= 2, "{want:?}");
}

#[test]
fn predictions_outside_the_classes_are_errors() {
    let err = ClassHistogram::from_predictions(&[0, 1, 10], 10)
        .unwrap_err()
        .to_string();
    assert!(err.contains("class 10"), "{err}");
    assert!(ClassHistogram::from_predictions(&[], 10).is_err());
    assert_eq!(class_names("fashion_mnist").map(<[_]>::len), Some(10));
    assert_eq!(class_names("two_moons"), None);
}
