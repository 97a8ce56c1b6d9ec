//! Image data through `DataConfig` and `Batcher`: scaling, splits, limits, shards, seeded flips.

use super::fashion_dir;
use candle_core::Device;
use ebm_data::images::scale_pixels;
use ebm_data::{Batcher, DataConfig, Error, FashionMnist, Points, Split};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::path::Path;

fn fashion(dir: &Path, n_samples: Option<usize>, flip: bool) -> DataConfig {
    DataConfig::FashionMnist(FashionMnist {
        dir: dir.to_path_buf(),
        split: Split::Train,
        n_samples,
        flip,
    })
}

#[test]
fn scaling_maps_0_to_minus_1_and_255_to_1() {
    assert_eq!(
        scale_pixels(&[0, 255, 51]),
        vec![-1.0, 1.0, 51.0 / 127.5 - 1.0]
    );
}

#[test]
fn fashion_train_set_limit_and_fresh_test_images() {
    let dir = tempfile::tempdir().expect("tempdir");
    fashion_dir(dir.path(), 12, 5, true);
    let mut rng = StdRng::seed_from_u64(3);
    let train = fashion(dir.path(), None, false)
        .train_set(&mut rng)
        .expect("all");
    assert_eq!(
        (train.len(), train.dim, train.shape.clone()),
        (12, 784, vec![1, 28, 28])
    );
    assert_eq!(
        train.row(1)[0],
        7.0 / 127.5 - 1.0,
        "image 1 pixel 0 is byte 7"
    );
    let first5 = fashion(dir.path(), Some(5), false)
        .train_set(&mut rng)
        .expect("limit");
    assert_eq!(first5.data, train.data[..5 * 784]);
    assert_eq!(first5.labels.as_deref(), Some(&[0, 1, 2, 3, 4][..]));
    let err = fashion(dir.path(), Some(13), false)
        .train_set(&mut rng)
        .expect_err("too many");
    assert!(
        matches!(&err, Error::InvalidParam { key, .. } if key == "data.n_samples"),
        "{err}"
    );
    assert_eq!(
        fashion(dir.path(), None, false)
            .sample(6, &mut rng)
            .expect_err("test has 5")
            .to_string(),
        "invalid value for `n`: 6 fresh images asked, the test split has 5"
    );
    // Fresh data: distinct test images in a seeded order.
    let draw = |seed| {
        fashion(dir.path(), None, false)
            .sample(5, &mut StdRng::seed_from_u64(seed))
            .expect("fresh")
    };
    let fresh = draw(9);
    assert_eq!(fresh, draw(9));
    let mut labels = fresh.labels.clone().expect("labels");
    labels.sort_unstable();
    assert_eq!(labels, vec![0, 1, 2, 3, 4], "the 5 test images, each once");
    let batch = fresh.to_tensor(&Device::Cpu).expect("tensor");
    assert_eq!(batch.dims(), &[5, 1, 28, 28]);
}

#[test]
fn shards_keep_shape_and_labels() {
    let pixels: Vec<u8> = (0..5 * 12).map(|v| v as u8).collect();
    let labels = Some(vec![0, 1, 2, 3, 4]);
    let set = Points::from_pixels(&pixels, vec![1, 3, 4], labels).expect("images");
    let shard = set.shard(1, 2).expect("shard");
    assert_eq!(shard.shape, vec![1, 3, 4]);
    assert_eq!(shard.labels, Some(vec![3, 4]));
    assert_eq!(shard.data, set.data[3 * 12..]);
}

/// Three images [2, 2, 3] with distinct values, for watching flips.
fn tiny_images() -> Points {
    let data = (0..3 * 12).map(|v| v as f32).collect();
    Points::with_shape(data, vec![2, 2, 3], Some(vec![0, 1, 2])).expect("images")
}

fn batches(batcher: &mut Batcher, rng: &mut StdRng, n: usize) -> Vec<Vec<f32>> {
    (0..n)
        .map(|_| {
            let b = batcher.next_batch(rng, &Device::Cpu).expect("batch");
            assert_eq!(b.dims(), &[2, 2, 2, 3]);
            b.flatten_all().expect("flat").to_vec1().expect("vec")
        })
        .collect()
}

#[test]
fn flips_are_seeded_and_mirror_exactly_the_width_axis() {
    let set = tiny_images();
    let run = |seed| {
        let mut b = Batcher::new(set.clone(), 2)
            .expect("b")
            .with_flip(true)
            .expect("images");
        batches(&mut b, &mut StdRng::seed_from_u64(seed), 40)
    };
    let a = run(1);
    assert_eq!(a, run(1), "same seed, same batches and flips");
    assert_ne!(a, run(2));
    let (mut flipped, mut kept) = (0, 0);
    for batch in &a {
        for sample in batch.chunks(12) {
            // Identify the source image by its first-row values, whatever the flip.
            let i = (sample.iter().cloned().fold(f32::MAX, f32::min) / 12.0) as usize;
            let original = set.row(i);
            let mirrored: Vec<f32> = original
                .chunks(3)
                .flat_map(|r| r.iter().rev().cloned())
                .collect();
            if sample == original {
                kept += 1;
            } else {
                assert_eq!(
                    sample,
                    mirrored.as_slice(),
                    "each row of each channel reversed, nothing else"
                );
                flipped += 1;
            }
        }
    }
    assert!(
        flipped > 20 && kept > 20,
        "about half flipped: {flipped} vs {kept}"
    );
}

#[test]
fn without_flip_the_draws_are_unchanged_and_flip_needs_images() {
    let set = tiny_images();
    let mut plain = Batcher::new(set.clone(), 2).expect("b");
    let mut rng = StdRng::seed_from_u64(5);
    let got = batches(&mut plain, &mut rng, 10);
    assert!(got
        .iter()
        .flat_map(|b| b.chunks(12))
        .all(|s| set.rows().any(|r| r == s)));
    let points = Points::new(vec![0.0; 8], 2).expect("points");
    let err = Batcher::new(points, 2)
        .expect("b")
        .with_flip(true)
        .expect_err("2-D");
    assert!(
        matches!(&err, Error::InvalidParam { key, .. } if key == "data.flip"),
        "{err}"
    );
}

#[test]
fn a_flipping_batcher_resumes_exactly() {
    let mut a = Batcher::new(tiny_images(), 2)
        .expect("b")
        .with_flip(true)
        .expect("f");
    let mut rng = StdRng::seed_from_u64(11);
    batches(&mut a, &mut rng, 3);
    let (state, saved_rng) = (a.state(), rng.clone());
    let rest = batches(&mut a, &mut rng, 5);
    let mut b = Batcher::new(tiny_images(), 2)
        .expect("b")
        .with_flip(true)
        .expect("f");
    b.restore(state).expect("restore");
    assert_eq!(batches(&mut b, &mut saved_rng.clone(), 5), rest);
}
