//! Rendering into memory and writing the PNG atomically.
//!
//! Drawing happens in an in-memory RGB buffer, which is then encoded with the
//! `image` crate into a hidden temporary file next to the target and renamed over
//! it. A crash mid-write therefore leaves at most a stray `.NAME.PID-N.tmp.png`,
//! never a truncated PNG under the real name, and a drawing error leaves nothing.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use image::codecs::png::PngEncoder;
use image::{ColorType, ImageEncoder};
use plotters::coord::Shift;
use plotters::prelude::{BitMapBackend, DrawingArea, IntoDrawingArea, WHITE};

use crate::{font, Error, Result};

/// The drawing surface handed to the plot-specific code.
pub(crate) type Canvas<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// What plot-specific drawing code returns; any plotters error fits.
pub(crate) type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// Draws on a white canvas of `size` and writes it as a PNG to `path`.
pub(crate) fn render_png(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&Canvas) -> DrawResult,
) -> Result<()> {
    font::ensure_registered()?;
    let (width, height) = size;
    let mut pixels = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(Into::into)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present().map_err(Into::into));
        drawn.map_err(|e| Error::Drawing(format!("{}: {e}", path.display())))?;
    }
    write_atomically(path, |file| {
        PngEncoder::new(file)
            .write_image(&pixels, width, height, ColorType::Rgb8)
            .map_err(io::Error::other)
    })
}

/// Writes via a temporary sibling file, then renames it onto `path`.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> Result<()> {
    let tmp = temp_sibling(path)?;
    if let Some(dir) = tmp.parent() {
        fs::create_dir_all(dir).map_err(|e| with_path(e, dir))?;
    }
    let result = File::create(&tmp).and_then(|file| {
        let mut out = BufWriter::new(file);
        write(&mut out)?;
        out.flush()?;
        // Sync before the rename so the new name never points at unwritten data.
        out.get_ref().sync_all()?;
        Ok(())
    });
    let result = result.and_then(|()| fs::rename(&tmp, path));
    result.map_err(|e| {
        // Best effort: the temp file is garbage whatever state it is in.
        let _ = fs::remove_file(&tmp);
        with_path(e, path).into()
    })
}

/// `dir/.NAME.PID-N.tmp.png`: hidden, unique per process and call (threads may
/// draw the same path concurrently), and ending in `.png` for any tool that
/// guesses the format from the name.
fn temp_sibling(path: &Path) -> Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        Error::invalid(format!("output path {} has no file name", path.display()))
    })?;
    let tmp_name = format!(
        ".{}.{}-{}.tmp.png",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    Ok(path.with_file_name(tmp_name))
}

/// std's io errors do not say which file they are about; add it.
fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}
