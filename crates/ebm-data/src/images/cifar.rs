//! The CIFAR-10 binary version (www.cs.toronto.edu/~kriz/cifar.html, "CIFAR-10 binary
//! version"): `data_batch_1.bin` … `data_batch_5.bin` and `test_batch.bin`, each a sequence of
//! 3073-byte records, one label byte (0..=9) then a 3×32×32 image in CHW order (the 1024 red
//! values, then green, then blue, each row-major). The official files hold 10,000 records each;
//! we check only that a file is whole records with valid labels, so small test files work too.

use super::describe_foreign;
use crate::error::{thousands, FileErrorKind as Kind};
use crate::{Error, Result};
use std::path::Path;

/// Bytes per sample: `[3, 32, 32]`.
pub const IMAGE_BYTES: usize = 3 * 32 * 32;
/// Bytes per record: one label byte, then the image.
pub const RECORD_BYTES: usize = 1 + IMAGE_BYTES;
/// The training batches, in the order their images are concatenated.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test batch.
pub const TEST_FILE: &str = "test_batch.bin";

/// Reads one batch file: `(pixels, labels)`, pixels `[n, 3, 32, 32]` row-major.
pub fn read_cifar_batch(path: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |offset: usize, kind, detail: String| Error::file(path, offset as u64, kind, detail);
    let Some(&first) = bytes.first() else {
        return Err(bad(0, Kind::Truncated, "the file is empty".into()));
    };
    if first > 9 {
        let head = &bytes[..bytes.len().min(16)];
        return Err(match describe_foreign(head) {
            Some(what) => bad(
                0,
                Kind::Foreign,
                format!("not a CIFAR-10 batch: looks like {what}"),
            ),
            None => bad(
                0,
                Kind::BadLabel,
                format!("label {first} of record 0, expected 0..=9"),
            ),
        });
    }
    let whole = bytes.len() / RECORD_BYTES * RECORD_BYTES;
    if whole != bytes.len() {
        let detail = format!(
            "{} bytes is not a whole number of {}-byte records (1 label + 3×32×32 pixels); \
             the last record has only {} bytes",
            thousands(bytes.len() as u64),
            thousands(RECORD_BYTES as u64),
            thousands((bytes.len() - whole) as u64)
        );
        return Err(bad(whole, Kind::Truncated, detail));
    }
    let n = bytes.len() / RECORD_BYTES;
    let mut labels = Vec::with_capacity(n);
    let mut pixels = Vec::with_capacity(n * IMAGE_BYTES);
    for (i, record) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
        if record[0] > 9 {
            let detail = format!("label {} of record {i}, expected 0..=9", record[0]);
            return Err(bad(i * RECORD_BYTES, Kind::BadLabel, detail));
        }
        labels.push(record[0]);
        pixels.extend_from_slice(&record[1..]);
    }
    Ok((pixels, labels))
}

/// Writes the six CIFAR-10 batch files into `dir` (created if needed), each `n` records of
/// pseudo-random labels and pixels from `seed`: files of the real format for tests, benches
/// and CI on machines without the dataset (it cannot be downloaded everywhere).
pub fn write_synthetic_cifar(dir: &Path, n: usize, seed: u32) -> Result<()> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    // A linear congruential generator: the bytes only have to be reproducible, not random.
    let mut state = seed;
    let mut byte = || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 24) as u8
    };
    for name in TRAIN_FILES.iter().chain([&TEST_FILE]) {
        let mut bytes = Vec::with_capacity(n * RECORD_BYTES);
        for _ in 0..n {
            bytes.push(byte() % 10);
            bytes.extend((0..IMAGE_BYTES).map(|_| byte()));
        }
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(io(&path))?;
    }
    Ok(())
}
