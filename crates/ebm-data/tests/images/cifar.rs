//! The CIFAR-10 reader and the `cifar10` data kind on files written by the test.

use super::idx::expect_bad;
use super::write;
use ebm_data::{read_cifar_batch, Cifar10, DataConfig, Error, FileErrorKind as Kind, Split};
use rand::SeedableRng;
use std::path::Path;

/// `n` records; record `i` has label `(i + first) % 10` and pixel `p` equal to `(i + p) % 251`.
fn records(n: usize, first: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 3073);
    for i in 0..n {
        out.push(((i + first) % 10) as u8);
        out.extend((0..3072).map(|p| ((i + p) % 251) as u8));
    }
    out
}

fn cifar_dir(dir: &Path, per_file: usize) {
    for (k, name) in ebm_data::images::cifar::TRAIN_FILES.iter().enumerate() {
        write(dir, name, &records(per_file, k));
    }
    write(dir, "test_batch.bin", &records(per_file, 7));
}

fn config(dir: &Path, split: Split) -> DataConfig {
    DataConfig::Cifar10(Cifar10 {
        dir: dir.to_path_buf(),
        split,
        n_samples: None,
        flip: true,
    })
}

#[test]
fn batches_round_trip_in_chw_order_with_labels() {
    let dir = tempfile::tempdir().expect("tempdir");
    cifar_dir(dir.path(), 3);
    let (pixels, labels) = read_cifar_batch(&dir.path().join("data_batch_2.bin")).expect("reads");
    assert_eq!(labels, vec![1, 2, 3]);
    assert_eq!(pixels.len(), 3 * 3072);
    assert_eq!(
        &pixels[3072..3075],
        &[1, 2, 3],
        "record 1 starts at its own pixel 0"
    );

    let train = config(dir.path(), Split::Train)
        .train_set(&mut rand::rngs::StdRng::seed_from_u64(0))
        .expect("train");
    assert_eq!(
        (train.len(), train.shape.clone(), train.dim),
        (15, vec![3, 32, 32], 3072)
    );
    let labels = train.labels.clone().expect("labels kept");
    assert_eq!(
        &labels[..6],
        &[0, 1, 2, 1, 2, 3],
        "files concatenated in order"
    );
    // Channel 1 (green) of sample 0 starts at pixel 1024 of the record: value 1024 % 251.
    assert_eq!(train.row(0)[1024], (1024 % 251) as f32 / 127.5 - 1.0);
    let test = config(dir.path(), Split::Test).train_set(&mut rand::rngs::StdRng::seed_from_u64(0));
    assert_eq!(test.expect("test").labels.expect("labels"), vec![7, 8, 9]);
}

#[test]
fn malformed_batches_name_file_and_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut short = records(2, 0);
    short.truncate(3073 + 100);
    let path = write(dir.path(), "short.bin", &short);
    let msg = expect_bad(read_cifar_batch(&path), &path, Kind::Truncated, 3073);
    assert!(msg.contains("3,073-byte records"), "{msg}");
    let mut bad = records(3, 0);
    bad[2 * 3073] = 10;
    let path = write(dir.path(), "label.bin", &bad);
    expect_bad(read_cifar_batch(&path), &path, Kind::BadLabel, 2 * 3073);
    let path = write(dir.path(), "empty.bin", &[]);
    expect_bad(read_cifar_batch(&path), &path, Kind::Truncated, 0);
    let path = write(
        dir.path(),
        "page.bin",
        b"<html><body>Not Found</body></html>",
    );
    let msg = expect_bad(read_cifar_batch(&path), &path, Kind::Foreign, 0);
    assert!(msg.contains("HTML"), "{msg}");
    let path = write(dir.path(), "png.bin", b"\x89PNG\r\n\x1a\n");
    expect_bad(read_cifar_batch(&path), &path, Kind::Foreign, 0);
}

#[test]
fn a_missing_dir_or_file_says_where_to_put_what() {
    let dir = tempfile::tempdir().expect("tempdir");
    let absent = dir.path().join("nowhere");
    let err = config(&absent, Split::Train)
        .train_set(&mut rand::rngs::StdRng::seed_from_u64(0))
        .expect_err("missing dir");
    let msg = err.to_string();
    assert!(
        matches!(&err, Error::MissingData { path, .. } if path == &absent),
        "{msg}"
    );
    for needle in [
        "[data] dir",
        "data_batch_1.bin",
        "data_batch_5.bin",
        "test_batch.bin",
        "binary version",
        "never downloads",
    ] {
        assert!(msg.contains(needle), "{needle} missing from: {msg}");
    }
    cifar_dir(dir.path(), 1);
    std::fs::remove_file(dir.path().join("data_batch_4.bin")).expect("rm");
    let err = config(dir.path(), Split::Train)
        .train_set(&mut rand::rngs::StdRng::seed_from_u64(0))
        .expect_err("missing file");
    assert!(err.to_string().contains("data_batch_4.bin"), "{err}");
    config(dir.path(), Split::Test)
        .train_set(&mut rand::rngs::StdRng::seed_from_u64(0))
        .expect("the test split is whole");
}
