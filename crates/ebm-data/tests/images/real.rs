//! The real Fashion-MNIST, as Debian's `dataset-fashion-mnist` installs it; skipped (with a note)
//! where the package is not installed.

use ebm_data::{DataConfig, FashionMnist, Split};
use rand::SeedableRng;
use std::path::Path;

const DIR: &str = "/usr/share/datasets/fashion-mnist";

#[test]
fn real_fashion_mnist_has_the_published_counts_and_classes() {
    if !Path::new(DIR).join("train-images-idx3-ubyte.gz").is_file() {
        eprintln!("note: skipped, {DIR} not found (apt-get install dataset-fashion-mnist)");
        return;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    for (split, n) in [(Split::Train, 60_000), (Split::Test, 10_000)] {
        let config = DataConfig::FashionMnist(FashionMnist {
            dir: DIR.into(),
            split,
            n_samples: None,
            flip: false,
        });
        assert_eq!(config.n_samples(), n);
        let set = config
            .train_set(&mut rng)
            .expect("reads the installed files");
        assert_eq!(
            (set.len(), set.shape.as_slice(), set.dim),
            (n, &[1, 28, 28][..], 784)
        );
        let (lo, hi) = set
            .data
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        assert_eq!((lo, hi), (-1.0, 1.0), "pixels span 0..=255");
        let mut histogram = [0usize; 10];
        for &l in set.labels.as_ref().expect("labels") {
            histogram[l as usize] += 1;
        }
        assert_eq!(histogram, [n / 10; 10], "{split:?}: balanced classes");
    }
    let fresh = DataConfig::with_defaults("fashion_mnist")
        .expect("kind")
        .sample(500, &mut rng)
        .expect("fresh test images");
    assert_eq!(fresh.len(), 500);
}
