//! The evaluation classifier on the real Fashion-MNIST (Debian's `dataset-fashion-mnist`;
//! skipped with a note where it is not installed): it learns the classes, its feature space puts
//! two halves of the test split close together and uniform noise far away (the FID-like
//! distance's floor and ceiling), and a saved classifier loads to identical features.

use candle_core::{Device, Tensor};
use ebm_data::{DataConfig, FashionMnist, Split};
use ebm_eval::classifier::{cache, train_classifier, ClassifierConfig};
use ebm_eval::image_metrics::{frechet_distance, kid, KidConfig};
use rand::Rng as _;
use std::path::Path;

const DIR: &str = "/usr/share/datasets/fashion-mnist";

#[test]
fn fashion_mnist_features_separate_test_halves_from_noise() {
    if !Path::new(DIR).join("train-images-idx3-ubyte.gz").is_file() {
        eprintln!("note: skipped, {DIR} not found (apt-get install dataset-fashion-mnist)");
        return;
    }
    let data = DataConfig::FashionMnist(FashionMnist {
        dir: DIR.into(),
        split: Split::Train,
        n_samples: None,
        flip: false,
    });
    let (train, test) = (
        data.load_split(Split::Train).unwrap(),
        data.load_split(Split::Test).unwrap(),
    );
    let cfg = ClassifierConfig {
        hidden: vec![256, 128],
        epochs: 1,
        n_train: Some(10_000),
        ..ClassifierConfig::default()
    };
    let (net, info) = train_classifier(&train, &test, "fashion_mnist", &cfg).unwrap();
    assert!(info.test_accuracy > 0.75, "{info:?}");
    assert_eq!((info.classes, info.n_train), (10, 10_000));

    let n = 2000;
    let all = test.to_tensor(&Device::Cpu).unwrap();
    let (a, b) = (all.narrow(0, 0, n).unwrap(), all.narrow(0, n, n).unwrap());
    let mut r = ebm_core::rng::stream(0, "noise", 0);
    let noise: Vec<f32> = (0..n * 784)
        .map(|_| r.random_range(-1.0f32..=1.0))
        .collect();
    let noise = Tensor::from_vec(noise, (n, 1, 28, 28), &Device::Cpu).unwrap();
    let dim = net.feature_dim();
    let (fa, fb, fn_) = (
        net.features(&a, 256).unwrap(),
        net.features(&b, 256).unwrap(),
        net.features(&noise, 256).unwrap(),
    );
    let halves = frechet_distance(&fa, &fb, dim).unwrap();
    let to_noise = frechet_distance(&fa, &fn_, dim).unwrap();
    assert!(
        halves < 0.02 * to_noise,
        "test halves {halves} should be far closer than test vs noise {to_noise}"
    );
    let kid_cfg = KidConfig::default();
    let (k_halves, k_noise) = (
        kid(&fa, &fb, dim, &kid_cfg).unwrap(),
        kid(&fa, &fn_, dim, &kid_cfg).unwrap(),
    );
    assert!(
        k_halves.mean.abs() < 0.02 * k_noise.mean,
        "{k_halves:?} vs {k_noise:?}"
    );

    // Save → load gives the same features, and the info travels with the weights.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("c.safetensors");
    cache::save(&path, &net, &info).unwrap();
    let (loaded, loaded_info) = cache::load(&path).unwrap();
    assert_eq!(loaded_info, info);
    assert_eq!(loaded.features(&a, 256).unwrap(), fa);
    // A classifier of other images is refused for this data, naming the file.
    let cifar = DataConfig::with_defaults("cifar10").unwrap();
    let err = cache::load_or_train(&path, &cifar, &cfg)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("c.safetensors") && err.contains("fashion_mnist"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_a_classifier_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("junk.safetensors");
    std::fs::write(&path, b"not a safetensors file").unwrap();
    let err = cache::load(&path).err().unwrap().to_string();
    assert!(
        err.contains("junk.safetensors") && err.contains("not an ebm classifier"),
        "{err}"
    );
}
