//! Image readers and image batches: round trips through IDX (raw and gzipped) and CIFAR-10 files
//! written into a temporary directory, every malformed-file case with its error kind, file and
//! byte offset, the [-1, 1] scaling, seeded flips, and the real Fashion-MNIST when installed.

mod batches;
mod cifar;
mod idx;
mod real;

use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;
use std::path::{Path, PathBuf};

/// An IDX file of unsigned bytes with sizes `dims`.
pub fn idx_bytes(dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(payload);
    out
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).expect("in memory");
    enc.finish().expect("in memory")
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path
}

/// `n` 28×28 images whose pixel `p` of image `i` is `(i * 7 + p) % 256`, and labels `i % 10`.
pub fn fashion_like(n: usize) -> (Vec<u8>, Vec<u8>) {
    let pixels = (0..n * 784)
        .map(|k| ((k / 784) * 7 + k % 784) as u8)
        .collect();
    let labels = (0..n).map(|i| (i % 10) as u8).collect();
    (pixels, labels)
}

/// Writes a Fashion-MNIST directory with `n_train` and `n_test` images, gzipped or raw.
pub fn fashion_dir(dir: &Path, n_train: usize, n_test: usize, gz: bool) {
    for (stem, n) in [("train", n_train), ("t10k", n_test)] {
        let (pixels, labels) = fashion_like(n);
        let mut images = idx_bytes(&[n as u32, 28, 28], &pixels);
        let mut labels = idx_bytes(&[n as u32], &labels);
        let suffix = if gz { ".gz" } else { "" };
        if gz {
            images = gzip(&images);
            labels = gzip(&labels);
        }
        write(dir, &format!("{stem}-images-idx3-ubyte{suffix}"), &images);
        write(dir, &format!("{stem}-labels-idx1-ubyte{suffix}"), &labels);
    }
}
