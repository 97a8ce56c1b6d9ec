//! The memory estimate of the image energies (`[model] kind = "conv"` and `"resnet"`), in the
//! terms of [`crate::memory`]: weights (with gradients, two Adam moments, an average and a view)
//! and, per image of a batch, each conv's output before and after its activation, forward and
//! backward.
//! Computed in f64 from the config alone, so an absurd width is refused before any allocation.

use ebm_models::{ConvConfig, ResNetConfig};

const F32: f64 = 4.0;

/// One conv: (weights, floats per image held by its pass), and its output's side lengths.
fn conv(
    cin: f64,
    cout: f64,
    k: f64,
    stride: f64,
    pad: f64,
    h: f64,
    w: f64,
) -> (f64, f64, f64, f64) {
    let out = |n: f64| ((n + 2.0 * pad - k) / stride).floor().max(0.0) + 1.0;
    let (oh, ow) = (out(h), out(w));
    let weights = cin * cout * k * k + cout;
    // The output, before and after the activation (kept for the backward pass). The im2col
    // columns are one layer's at a time, small next to the sum of all outputs.
    let per_image = 2.0 * cout * oh * ow;
    (weights, per_image, oh, ow)
}

/// Bytes of a conv energy on images `[c, h, w]` at `batch` images per pass.
pub fn conv_bytes(config: &ConvConfig, shape: [f64; 3], batch: f64) -> f64 {
    let [mut cin, mut h, mut w] = shape;
    let (mut weights, mut per_image) = (0.0, 0.0);
    for l in &config.layers {
        let cout = l.channels as f64;
        let (wt, act, oh, ow) = conv(
            cin,
            cout,
            l.kernel as f64,
            l.stride as f64,
            l.padding as f64,
            h,
            w,
        );
        (weights, per_image, cin, h, w) = (weights + wt, per_image + act, cout, oh, ow);
    }
    total(weights + cin + 1.0, per_image, batch)
}

/// Bytes of a ResNet energy on images `[c, h, w]` at `batch` images per pass.
pub fn resnet_bytes(config: &ResNetConfig, shape: [f64; 3], batch: f64) -> f64 {
    let [c, mut h, mut w] = shape;
    let first = config.channels.first().copied().unwrap_or(0) as f64;
    let (mut weights, mut per_image, _, _) = conv(c, first, 3.0, 1.0, 1.0, h, w);
    let mut cin = first;
    for (s, (&cout, &blocks)) in config.channels.iter().zip(&config.blocks).enumerate() {
        if s > 0 {
            (h, w) = ((h / 2.0).floor(), (w / 2.0).floor());
        }
        let cout = cout as f64;
        for _ in 0..blocks {
            for (a, b) in [(cin, cout), (cout, cout)] {
                let (wt, act, _, _) = conv(a, b, 3.0, 1.0, 1.0, h, w);
                (weights, per_image) = (weights + wt, per_image + act);
            }
            if cin != cout {
                let (wt, act, _, _) = conv(cin, cout, 1.0, 1.0, 0.0, h, w);
                (weights, per_image) = (weights + wt, per_image + act);
            }
            cin = cout;
        }
    }
    total(weights + cin + 1.0, per_image, batch)
}

/// Weights ×6 (weights, gradients, two moments, an average, a view), activations ×2 (forward and
/// backward) for the data and the chains of a step.
fn total(weights: f64, per_image: f64, batch: f64) -> f64 {
    weights * F32 * 6.0 + per_image * batch * 2.0 * F32 * 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cifar_resnet_is_hundreds_of_megabytes_and_a_huge_width_is_not() {
        let igebm = ResNetConfig {
            channels: vec![128, 256, 256],
            blocks: vec![2, 2, 2],
            ..ResNetConfig::default()
        };
        let bytes = resnet_bytes(&igebm, [3.0, 32.0, 32.0], 128.0);
        assert!(bytes > 1e8 && bytes < 2e10, "{bytes:e}");
        let huge = ResNetConfig {
            channels: vec![100_000],
            blocks: vec![1],
            ..ResNetConfig::default()
        };
        assert!(resnet_bytes(&huge, [3.0, 32.0, 32.0], 4.0) > 1e12);
    }
}
