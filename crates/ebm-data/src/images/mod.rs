//! Image datasets from their standard files: the IDX format (MNIST, Fashion-MNIST) and the
//! CIFAR-10 binary batches. Readers return the bytes as stored, checked against the format so a
//! truncated download or the wrong file fails with the path and byte offset of the problem; the
//! conversion to training data (`x / 127.5 - 1`, so pixels lie in `[-1, 1]`) and the random
//! horizontal flip are separate small functions used by [`crate::Points`] and [`crate::Batcher`].
//! Nothing here downloads anything.

pub mod cifar;
pub mod idx;

/// Maps pixel bytes to `[-1, 1]`: 0 → -1, 255 → 1 (both exact in f32).
pub fn scale_pixels(bytes: &[u8]) -> Vec<f32> {
    bytes.iter().map(|&b| f32::from(b) / 127.5 - 1.0).collect()
}

/// Mirrors one `[C, H, W]` sample in place along its last (width) axis.
pub fn hflip(sample: &mut [f32], width: usize) {
    for row in sample.chunks_exact_mut(width.max(1)) {
        row.reverse();
    }
}

/// A guess at what a file that is not ours is, from its first bytes, for error messages.
pub(crate) fn describe_foreign(head: &[u8]) -> Option<&'static str> {
    const KNOWN: [(&[u8], &str); 7] = [
        (b"\x89PNG", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"\x1f\x8b", "a gzip file (unpack it first)"),
        (b"PK\x03\x04", "a zip archive (unpack it first)"),
        (b"%PDF", "a PDF document"),
        (b"<", "an HTML or XML page (a failed download?)"),
        (b"\x80", "a Python pickle"),
    ];
    if let Some((_, what)) = KNOWN.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Some(what);
    }
    let text = |b: &u8| b.is_ascii_graphic() || b.is_ascii_whitespace();
    (!head.is_empty() && head.iter().all(text)).then_some("a text file")
}
