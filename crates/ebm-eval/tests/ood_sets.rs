//! The OOD image sets of `ebm-launch eval`: the Gaussian blur keeps constant images and every
//! image's mean, matches its kernel written out by hand, and smooths; the pixel shuffle is
//! seeded, a permutation of each image's pixels (the same one for all channels of an image, a
//! different one per image).

use candle_core::{Device, Tensor};
use ebm_core::rng;
use ebm_eval::ood_sets::{gaussian_blur, pixel_shuffle, BLUR_RADIUS, BLUR_SIGMA};
use rand::Rng as _;

/// `n` images `[n, c, h, w]` with pixels uniform on [−1, 1].
fn random_images(n: usize, c: usize, h: usize, w: usize, seed: u64) -> Tensor {
    let mut r = rng::stream(seed, "test-images", 0);
    let v: Vec<f32> = (0..n * c * h * w)
        .map(|_| r.random_range(-1.0f32..=1.0))
        .collect();
    Tensor::from_vec(v, (n, c, h, w), &Device::Cpu).unwrap()
}

fn values(x: &Tensor) -> Vec<f32> {
    x.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn blur(x: &Tensor) -> Vec<f32> {
    values(&gaussian_blur(x, BLUR_SIGMA, BLUR_RADIUS).unwrap())
}

#[test]
fn blur_keeps_constant_images_and_every_mean() {
    let constant = Tensor::full(-0.75f32, (2, 1, 28, 28), &Device::Cpu).unwrap();
    assert!(blur(&constant).iter().all(|v| (v + 0.75).abs() < 1e-6));

    // Odd sizes, a plane narrower than the kernel (2 < 2·3 + 1), three channels.
    for (h, w) in [(28, 28), (5, 9), (2, 7)] {
        let x = random_images(3, 3, h, w, 1);
        let (before, after) = (values(&x), blur(&x));
        assert_eq!(after.len(), before.len());
        for (a, b) in before.chunks(h * w).zip(after.chunks(h * w)) {
            let mean = |p: &[f32]| p.iter().map(|&v| f64::from(v)).sum::<f64>() / p.len() as f64;
            assert!((mean(a) - mean(b)).abs() < 1e-6, "{h}×{w}");
        }
        // It smooths: neighbouring pixels are closer after the blur.
        let roughness = |p: &[f32]| p.windows(2).map(|d| (d[1] - d[0]).abs()).sum::<f32>();
        assert!(roughness(&after) < 0.6 * roughness(&before), "{h}×{w}");
    }
}

#[test]
fn blur_is_the_separable_gaussian_with_mirrored_borders() {
    let taps: Vec<f64> = (-3i32..=3)
        .map(|k| (-f64::from(k * k) / 2.0).exp())
        .collect();
    let total: f64 = taps.iter().sum();
    let g = |k: i32| taps[(k + 3) as usize] / total;
    // A single bright pixel away from the borders spreads as the outer product g(dy)·g(dx).
    let (h, w) = (11, 11);
    let mut v = vec![0f32; h * w];
    v[5 * w + 5] = 1.0;
    let out = blur(&Tensor::from_vec(v, (1, 1, h, w), &Device::Cpu).unwrap());
    for y in 0..h as i32 {
        for x in 0..w as i32 {
            let (dy, dx) = (y - 5, x - 5);
            let want = match dy.abs() <= 3 && dx.abs() <= 3 {
                true => g(dy) * g(dx),
                false => 0.0,
            };
            let got = f64::from(out[(y * w as i32 + x) as usize]);
            assert!((got - want).abs() < 1e-6, "({y}, {x}): {got} vs {want}");
        }
    }
    // At the border the edge pixel is repeated: a pixel at column 0 of a one-row image gets back
    // the taps that fall off the edge (mirror d c b a | a b c d), i.e. g(0) + g(1) at column 0.
    let mut v = vec![0f32; 9];
    v[0] = 1.0;
    let out = blur(&Tensor::from_vec(v, (1, 1, 1, 9), &Device::Cpu).unwrap());
    // The height pass of a one-row image mirrors the row onto itself: every tap lands on it.
    assert!((f64::from(out[0]) - (g(0) + g(-1))).abs() < 1e-6, "{out:?}");
    assert!((f64::from(out[1]) - (g(1) + g(-2))).abs() < 1e-6, "{out:?}");
    assert!((f64::from(out[3]) - g(3)).abs() < 1e-6, "{out:?}");
    assert!(out[4].abs() < 1e-7, "{out:?}");
}

#[test]
fn shuffle_is_a_seeded_permutation_per_image() {
    let x = random_images(4, 1, 28, 28, 2);
    let a = values(&pixel_shuffle(&x, 7).unwrap());
    assert_eq!(
        a,
        values(&pixel_shuffle(&x, 7).unwrap()),
        "same seed, same images"
    );
    assert_ne!(a, values(&pixel_shuffle(&x, 8).unwrap()), "another seed");
    let before = values(&x);
    for (p, q) in before.chunks(784).zip(a.chunks(784)) {
        assert_ne!(p, q, "the layout changes");
        let sorted = |s: &[f32]| {
            let mut s = s.to_vec();
            s.sort_by(f32::total_cmp);
            s
        };
        assert_eq!(sorted(p), sorted(q), "the same pixel values");
    }

    // Two copies of one image get different permutations; the channels of a pixel move
    // together: channel c holds pixel index + 1000·c before and after.
    let (h, w) = (6, 5);
    let one: Vec<f32> = (0..3)
        .flat_map(|c| (0..h * w).map(move |i| (i + 1000 * c) as f32))
        .collect();
    let two = Tensor::from_vec([one.clone(), one].concat(), (2, 3, h, w), &Device::Cpu).unwrap();
    let out = values(&pixel_shuffle(&two, 0).unwrap());
    let (first, second) = out.split_at(3 * h * w);
    assert_ne!(first, second);
    for image in [first, second] {
        let (r, rest) = image.split_at(h * w);
        let (g, b) = rest.split_at(h * w);
        for ((r, g), b) in r.iter().zip(g).zip(b) {
            assert_eq!((*g, *b), (r + 1000.0, r + 2000.0));
        }
    }
}

#[test]
fn flat_rows_are_not_images() {
    let flat = Tensor::zeros((4, 784), candle_core::DType::F32, &Device::Cpu).unwrap();
    let err = pixel_shuffle(&flat, 0).unwrap_err().to_string();
    assert!(
        err.contains("[N, ..., H, W]") && err.contains("[4, 784]"),
        "{err}"
    );
    assert!(gaussian_blur(&flat, 1.0, 3).is_err());
    let images = random_images(1, 1, 4, 4, 0);
    assert!(gaussian_blur(&images, 0.0, 3).is_err());
}
