//! The IDX reader: round trips, and every way a file can be wrong.

use super::{fashion_like, gzip, idx_bytes, write};
use ebm_data::{read_idx_images, read_idx_labels, read_idx_pair, Error, FileErrorKind as Kind};
use std::path::Path;

/// Asserts a `BadFile` error of `kind` at `offset` naming `path`, and returns its message.
pub fn expect_bad(
    result: Result<impl std::fmt::Debug, Error>,
    path: &Path,
    kind: Kind,
    offset: u64,
) -> String {
    let err = result.expect_err("malformed file must fail");
    let msg = err.to_string();
    match &err {
        Error::BadFile {
            path: p,
            offset: o,
            kind: k,
            ..
        } => {
            assert_eq!((p.as_path(), *k, *o), (path, kind, offset), "{msg}");
        }
        other => panic!("expected BadFile {kind:?} at {offset}, got {other:?}"),
    }
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    msg
}

#[test]
fn raw_and_gzipped_files_round_trip_whatever_their_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (pixels, labels) = fashion_like(3);
    let images = idx_bytes(&[3, 28, 28], &pixels);
    let label_file = idx_bytes(&[3], &labels);
    // Detection is by magic bytes: a raw file called .gz and a gzipped one without the suffix.
    let cases = [
        ("raw", images.clone(), label_file.clone()),
        ("raw.gz", images.clone(), label_file.clone()),
        ("gz", gzip(&images), gzip(&label_file)),
        ("gz.gz", gzip(&images), gzip(&label_file)),
    ];
    for (name, img, lab) in cases {
        let ip = write(dir.path(), &format!("images.{name}"), &img);
        let lp = write(dir.path(), &format!("labels.{name}"), &lab);
        let (got, got_labels) = read_idx_pair(&ip, &lp, 10).expect(name);
        assert_eq!((got.n, got.rows, got.cols), (3, 28, 28));
        assert_eq!(got.pixels, pixels, "{name}");
        assert_eq!(got_labels, labels, "{name}");
    }
}

#[test]
fn truncated_files_name_the_offset_raw_and_gzipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (pixels, _) = fashion_like(2);
    // The header promises 5 images; 2 follow.
    let short = idx_bytes(&[5, 28, 28], &pixels);
    for (name, bytes) in [("short", short.clone()), ("short.gz", gzip(&short))] {
        let path = write(dir.path(), name, &bytes);
        let msg = expect_bad(read_idx_images(&path), &path, Kind::Truncated, 16 + 1568);
        assert!(msg.contains("truncated at byte 1,584"), "{msg}");
        assert!(
            msg.contains("5×28×28 = 3,920 pixel bytes, found 1,568"),
            "{msg}"
        );
    }
    // Ends inside the header.
    let path = write(dir.path(), "header", &short[..10]);
    expect_bad(read_idx_images(&path), &path, Kind::Truncated, 10);
    let path = write(dir.path(), "magic", &[0, 0, 8]);
    expect_bad(read_idx_images(&path), &path, Kind::Truncated, 3);
    let path = write(dir.path(), "empty", &[]);
    expect_bad(read_idx_images(&path), &path, Kind::Truncated, 0);
    // A gzip stream cut short (a partial download) fails without a panic, naming the file.
    let gz = gzip(&idx_bytes(&[5, 28, 28], &fashion_like(5).0));
    let path = write(dir.path(), "cut.gz", &gz[..gz.len() / 2]);
    let err = read_idx_images(&path).expect_err("cut stream");
    assert!(
        matches!(err.file_kind(), Some(Kind::Truncated | Kind::Corrupt)),
        "{err}"
    );
    assert!(err.to_string().contains("cut.gz"), "{err}");
}

#[test]
fn trailing_bytes_are_an_error_at_the_declared_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (pixels, _) = fashion_like(2);
    let long = idx_bytes(&[1, 28, 28], &pixels);
    for (name, bytes) in [("long", long.clone()), ("long.gz", gzip(&long))] {
        let path = write(dir.path(), name, &bytes);
        expect_bad(read_idx_images(&path), &path, Kind::TrailingBytes, 16 + 784);
    }
}

#[test]
fn corrupted_gzip_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gz = gzip(&idx_bytes(&[4, 28, 28], &fashion_like(4).0));
    // Damage the CRC in the 8-byte trailer: the content inflates but fails its checksum.
    let mut crc = gz.clone();
    let at = crc.len() - 8;
    crc[at] ^= 0xff;
    let path = write(dir.path(), "crc.gz", &crc);
    expect_bad(read_idx_images(&path), &path, Kind::Corrupt, 16 + 4 * 784);
    // Damage the deflate data itself at many places: always a typed error naming the file.
    for at in (12..gz.len() - 8).step_by(7) {
        let mut bad = gz.clone();
        bad[at] ^= 0x5a;
        let path = write(dir.path(), "bad.gz", &bad);
        if let Err(err) = read_idx_images(&path) {
            assert!(err.file_kind().is_some(), "{err:?}");
            assert!(err.to_string().contains("bad.gz"), "{err}");
        }
    }
}

#[test]
fn foreign_files_are_named_as_such() {
    let dir = tempfile::tempdir().expect("tempdir");
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let path = write(dir.path(), "train-images-idx3-ubyte", &png);
    let msg = expect_bad(read_idx_images(&path), &path, Kind::Foreign, 0);
    assert!(msg.contains("PNG"), "{msg}");
    let path = write(dir.path(), "text", b"hello, these are not images\n");
    let msg = expect_bad(read_idx_images(&path), &path, Kind::Foreign, 0);
    assert!(msg.contains("text"), "{msg}");
    // A gzipped PNG is unpacked and then recognised.
    let path = write(dir.path(), "png.gz", &gzip(&png));
    expect_bad(read_idx_images(&path), &path, Kind::Foreign, 0);
    let path = write(dir.path(), "type", &[0, 0, 0x42, 3]);
    expect_bad(read_idx_images(&path), &path, Kind::Foreign, 2);
}

#[test]
fn wrong_types_and_dims_are_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let labels = write(dir.path(), "labels", &idx_bytes(&[3], &[0, 1, 2]));
    let msg = expect_bad(read_idx_images(&labels), &labels, Kind::WrongType, 3);
    assert!(msg.contains("label file"), "{msg}");
    let mut floats = idx_bytes(&[1, 1, 1], &[0, 0, 0, 0]);
    floats[2] = 0x0D;
    let path = write(dir.path(), "floats", &floats);
    let msg = expect_bad(read_idx_images(&path), &path, Kind::WrongType, 2);
    assert!(msg.contains("f32"), "{msg}");
    let path = write(dir.path(), "zero", &idx_bytes(&[2, 0, 28], &[]));
    expect_bad(read_idx_images(&path), &path, Kind::BadDims, 8);
    let huge = write(
        dir.path(),
        "huge",
        &idx_bytes(&[u32::MAX, u32::MAX, u32::MAX], &[]),
    );
    let err = read_idx_images(&huge).expect_err("overflow or truncated, never an allocation");
    assert!(err.file_kind().is_some(), "{err}");
}

#[test]
fn labels_are_checked_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "labels", &idx_bytes(&[4], &[0, 9, 10, 1]));
    let msg = expect_bad(read_idx_labels(&path, 10), &path, Kind::BadLabel, 10);
    assert!(msg.contains("label 10"), "{msg}");
    let images = write(
        dir.path(),
        "images",
        &idx_bytes(&[2, 28, 28], &fashion_like(2).0),
    );
    let labels = write(dir.path(), "three", &idx_bytes(&[3], &[0, 1, 2]));
    let msg = expect_bad(
        read_idx_pair(&images, &labels, 10),
        &labels,
        Kind::CountMismatch,
        4,
    );
    assert!(
        msg.contains("3 labels") && msg.contains("2 images"),
        "{msg}"
    );
}
