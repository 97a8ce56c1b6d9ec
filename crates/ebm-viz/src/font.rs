//! The embedded DejaVu Sans font and its one-time registration with plotters.
//!
//! plotters' `ab_glyph` backend knows no fonts until one is registered, and
//! relying on system fonts would break on bare CI machines and containers.

use std::sync::OnceLock;

use plotters::style::{register_font, FontStyle};

use crate::{Error, Result};

/// The family name every text style in this crate uses.
pub(crate) const FAMILY: &str = "sans-serif";

static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Registers the embedded font once per process; later calls are free.
pub(crate) fn ensure_registered() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok =
        *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok {
        Ok(())
    } else {
        // Only reachable if the bundled asset is corrupt; report it instead of panicking.
        Err(Error::Drawing(
            "the embedded DejaVu Sans font could not be parsed".into(),
        ))
    }
}
