//! Shared sizes, fonts and colours, so all plots of a run look alike.

use plotters::style::{FontDesc, FontFamily, IntoFont, RGBColor};

/// Canvas size of landscapes and scatter plots (width, height).
pub(crate) const SQUARE_SIZE: (u32, u32) = (800, 700);
/// Canvas size of line charts (width, height).
pub(crate) const CHART_SIZE: (u32, u32) = (900, 500);

/// Colour for non-finite energies: a grey that no viridis shade resembles.
pub(crate) const NEUTRAL_GREY: RGBColor = RGBColor(128, 128, 128);
/// Light grid lines for charts without a heat map underneath.
pub(crate) const GRID_GREY: RGBColor = RGBColor(225, 225, 225);

pub(crate) fn title_font() -> FontDesc<'static> {
    (FontFamily::Name(crate::font::FAMILY), 26).into_font()
}

pub(crate) fn label_font() -> FontDesc<'static> {
    (FontFamily::Name(crate::font::FAMILY), 16).into_font()
}

pub(crate) fn tick_font() -> FontDesc<'static> {
    (FontFamily::Name(crate::font::FAMILY), 14).into_font()
}

pub(crate) fn rgb((r, g, b): (u8, u8, u8)) -> RGBColor {
    RGBColor(r, g, b)
}
