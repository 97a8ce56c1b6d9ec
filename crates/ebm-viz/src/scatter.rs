//! Scatter plots of point clouds alone, e.g. data against samples at a glance.

use std::path::Path;

use crate::grid::check_bounds;
use crate::layers::{draw_layers, PointLayer};
use crate::render::render_png;
use crate::{plane, style, Result};

/// Draws `layers` over `bounds` (x_min, x_max, y_min, y_max) on a light grid,
/// with a legend naming the labelled layers. Points outside the bounds are
/// skipped. Fails with [`crate::Error::InvalidInput`] for bad bounds.
pub fn draw_scatter(
    path: &Path,
    title: &str,
    bounds: [f32; 4],
    layers: &[PointLayer],
) -> Result<()> {
    check_bounds(bounds)?;
    render_png(path, style::SQUARE_SIZE, |root| {
        let body = root.titled(title, style::title_font())?;
        let mut chart = plane::build(&body, bounds)?;
        plane::draw_axes(&mut chart, true)?;
        draw_layers(&mut chart, bounds, layers)
    })
}
