//! The IDX format of MNIST and Fashion-MNIST (yann.lecun.com/exdb/mnist): a 4-byte magic
//! `00 00 <type> <ndims>`, `ndims` big-endian u32 sizes, then the elements row-major. We read only
//! unsigned bytes (type 0x08): images `[N, rows, cols]` and labels `[N]`.
//!
//! A file is gzipped or raw, told apart by its first two bytes (`1f 8b`), never by its name, so a
//! `.gz` that was unpacked in place still reads. The header is checked before any payload is read,
//! and a raw file's length must match the header exactly before we allocate for it; a gzipped
//! file is read up to the declared size plus one byte, so a corrupt header cannot make us inflate
//! gigabytes. Reading on to the end of a gzip stream also checks its CRC.

use super::describe_foreign;
use crate::error::{thousands, FileErrorKind as Kind};
use crate::{Error, Result};
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{BufReader, ErrorKind, Read};
use std::path::Path;

/// `n` images of `rows × cols` unsigned bytes, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxImages {
    pub n: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

/// The IDX element types, for naming a file of the wrong type.
fn type_name(code: u8) -> Option<&'static str> {
    Some(match code {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "i16",
        0x0C => "i32",
        0x0D => "f32",
        0x0E => "f64",
        _ => return None,
    })
}

/// Reads an IDX image file `[N, rows, cols]` of unsigned bytes.
pub fn read_idx_images(path: &Path) -> Result<IdxImages> {
    let (dims, pixels) = read_idx(path, 3)?;
    Ok(IdxImages {
        n: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels,
    })
}

/// Reads an IDX label file `[N]` of unsigned bytes, each below `classes`.
pub fn read_idx_labels(path: &Path, classes: u8) -> Result<Vec<u8>> {
    let (_, labels) = read_idx(path, 1)?;
    if let Some(i) = labels.iter().position(|&l| l >= classes) {
        return Err(Error::file(
            path,
            8 + i as u64,
            Kind::BadLabel,
            format!(
                "label {} of sample {i}, expected 0..={}",
                labels[i],
                classes - 1
            ),
        ));
    }
    Ok(labels)
}

/// Reads images and their labels, checking that the counts agree.
pub fn read_idx_pair(images: &Path, labels: &Path, classes: u8) -> Result<(IdxImages, Vec<u8>)> {
    let imgs = read_idx_images(images)?;
    let labs = read_idx_labels(labels, classes)?;
    if labs.len() != imgs.n {
        return Err(Error::file(
            labels,
            4,
            Kind::CountMismatch,
            format!(
                "{} labels, but {} holds {} images",
                thousands(labs.len() as u64),
                images.display(),
                thousands(imgs.n as u64)
            ),
        ));
    }
    Ok((imgs, labs))
}

/// The dims and payload of an IDX file of unsigned bytes with `want_dims` dimensions.
fn read_idx(path: &Path, want_dims: usize) -> Result<(Vec<usize>, Vec<u8>)> {
    let mut src = Source::open(path)?;
    let mut magic = [0u8; 4];
    let got = src.fill(&mut magic)?;
    if got >= 2 && magic[..2] != [0, 0] || got == 1 && magic[0] != 0 {
        return Err(src.error(0, Kind::Foreign, foreign_detail(&magic[..got])));
    }
    if got < 4 {
        return Err(src.error(
            got as u64,
            Kind::Truncated,
            format!("the file ends inside the 4-byte IDX magic ({got} bytes)"),
        ));
    }
    match type_name(magic[2]) {
        Some(_) if magic[2] == 0x08 => {}
        Some(name) => {
            let detail = format!(
                "IDX element type 0x{:02x} ({name}), expected 0x08 (unsigned byte)",
                magic[2]
            );
            return Err(src.error(2, Kind::WrongType, detail));
        }
        None => {
            let detail = format!(
                "unknown IDX element type 0x{:02x}; {}",
                magic[2],
                foreign_detail(&magic)
            );
            return Err(src.error(2, Kind::Foreign, detail));
        }
    }
    let ndims = magic[3] as usize;
    if ndims != want_dims {
        let what = |d: usize| match d {
            1 => "1 dimension (a label file)".to_string(),
            3 => "3 dimensions (an image file)".to_string(),
            d => format!("{d} dimensions"),
        };
        let detail = format!("{}, expected {}", what(ndims), what(want_dims));
        return Err(src.error(3, Kind::WrongType, detail));
    }
    let mut raw_dims = vec![0u8; 4 * ndims];
    let got = src.fill(&mut raw_dims)?;
    if got < raw_dims.len() {
        let detail = format!("the header declares {ndims} sizes but the file ends inside them");
        return Err(src.error(src.pos, Kind::Truncated, detail));
    }
    let dims: Vec<usize> = raw_dims
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    if let Some(i) = dims.iter().position(|&d| d == 0) {
        return Err(src.error(4 + 4 * i as u64, Kind::BadDims, format!("size {i} is 0")));
    }
    let shape = dims
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("×");
    let payload = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&p| u64::try_from(p).is_ok_and(|p| p < u64::MAX / 2))
        .ok_or_else(|| src.error(4, Kind::BadDims, format!("{shape} elements overflow")))?;
    let header = src.pos;
    let what = if ndims == 1 { "label" } else { "pixel" };
    let declared = if ndims == 1 {
        format!("header says {} {what} bytes", thousands(payload as u64))
    } else {
        format!(
            "header says {shape} = {} {what} bytes",
            thousands(payload as u64)
        )
    };
    let end = header + payload as u64;
    if let Some(len) = src.raw_len {
        // Check a raw file's length before allocating for the payload it declares.
        if len < end {
            let detail = format!("{declared}, found {}", thousands(len - header));
            return Err(src.error(len, Kind::Truncated, detail));
        }
        if len > end {
            let detail = format!("{declared}, but {} more bytes follow", thousands(len - end));
            return Err(src.error(end, Kind::TrailingBytes, detail));
        }
    }
    // Grow with the data rather than trusting the header with one huge allocation.
    let mut data = Vec::with_capacity(payload.min(64 << 20));
    let mut chunk = vec![0u8; 1 << 20];
    while data.len() < payload {
        let want = chunk.len().min(payload - data.len());
        let got = src.fill(&mut chunk[..want])?;
        data.extend_from_slice(&chunk[..got]);
        if got < want {
            let detail = format!("{declared}, found {}", thousands(data.len() as u64));
            return Err(src.error(src.pos, Kind::Truncated, detail));
        }
    }
    // One more byte: there must be none, and for gzip this runs the end-of-stream CRC check.
    if src.fill(&mut [0u8; 1])? > 0 {
        let detail = format!("{declared}, but more bytes follow");
        return Err(src.error(end, Kind::TrailingBytes, detail));
    }
    Ok((dims, data))
}

fn foreign_detail(head: &[u8]) -> String {
    let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "not an IDX file (IDX starts 00 00 08 <ndims>); it starts {}{}",
        hex.join(" "),
        describe_foreign(head)
            .map(|d| format!(", like {d}"))
            .unwrap_or_default()
    )
}

/// The decompressed (or raw) content of a file, with the position for error messages.
struct Source<'a> {
    path: &'a Path,
    inner: Box<dyn Read>,
    /// Bytes of content read so far.
    pos: u64,
    /// The file length when the content is the file itself (not gzipped).
    raw_len: Option<u64>,
}

impl<'a> Source<'a> {
    fn open(path: &'a Path) -> Result<Self> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut head = [0u8; 2];
        let mut got = 0;
        while got < 2 {
            match file.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(io(e)),
            }
        }
        // Chain the sniffed bytes back in front rather than seeking (works for pipes too).
        let rest = std::io::Cursor::new(head[..got].to_vec()).chain(BufReader::new(file));
        let gzipped = head == [0x1f, 0x8b];
        Ok(Source {
            path,
            inner: if gzipped {
                Box::new(MultiGzDecoder::new(rest))
            } else {
                Box::new(rest)
            },
            pos: 0,
            raw_len: (!gzipped).then_some(len),
        })
    }

    /// Fills `buf` as far as the content goes; returns the bytes read (fewer only at its end).
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if self.raw_len.is_none() => {
                    let at = self.pos + got as u64;
                    return Err(if e.kind() == ErrorKind::UnexpectedEof {
                        let detail = format!("the gzip stream ends early: {e}");
                        self.error(at, Kind::Truncated, detail)
                    } else {
                        self.error(at, Kind::Corrupt, e.to_string())
                    });
                }
                Err(source) => {
                    return Err(Error::Io {
                        path: self.path.to_path_buf(),
                        source,
                    })
                }
            }
        }
        self.pos += got as u64;
        Ok(got)
    }

    fn error(&self, offset: u64, kind: Kind, detail: impl Into<String>) -> Error {
        Error::file(self.path, offset, kind, detail)
    }
}
