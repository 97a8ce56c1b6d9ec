//! Energy landscapes: the model density exp(-(E - min E)) as a heat map over a
//! 2-D grid, with point clouds on top and a colour bar beside it.

use std::path::Path;

use plotters::element::Rectangle;
use plotters::style::Color;

use crate::colorbar::draw_colorbar;
use crate::colormap::viridis;
use crate::grid::{check_bounds, check_energy};
use crate::layers::{draw_layers, PointLayer};
use crate::render::{render_png, Canvas, DrawResult};
use crate::{plane, style, Result};

/// Width of the strip right of the plot that holds the colour bar.
const COLORBAR_WIDTH: u32 = 105;

/// A 2-D energy landscape on a regular grid, with point clouds on top.
#[derive(Debug, Clone)]
pub struct Landscape<'a> {
    pub title: &'a str,
    /// x_min, x_max, y_min, y_max.
    pub bounds: [f32; 4],
    /// The grid is resolution x resolution cells.
    pub resolution: usize,
    /// Energies at the grid points, row-major, row j = y_min + (j + 0.5) * dy
    /// (bottom row first), column i = x_min + (i + 0.5) * dx; see
    /// [`crate::grid_points`].
    pub energy: &'a [f32],
    pub layers: Vec<PointLayer<'a>>,
}

/// Heat map of the model density exp(-(E - min E)) (low energy is bright) in a
/// viridis-like colormap, with a colour bar and a legend naming the layers.
/// Points outside the bounds are skipped; non-finite energies are drawn grey.
///
/// Fails with [`crate::Error::InvalidInput`] for bad bounds, a zero resolution,
/// or an energy slice whose length is not `resolution * resolution`.
pub fn draw_landscape(path: &Path, landscape: &Landscape) -> Result<()> {
    check_bounds(landscape.bounds)?;
    check_energy(landscape.resolution, landscape.energy)?;
    render_png(path, style::SQUARE_SIZE, |root| draw(root, landscape))
}

fn draw(root: &Canvas, landscape: &Landscape) -> DrawResult {
    let body = root.titled(landscape.title, style::title_font())?;
    let (width, _) = body.dim_in_pixel();
    let (main, bar) = body.split_horizontally(width.saturating_sub(COLORBAR_WIDTH));
    let mut chart = plane::build(&main, landscape.bounds)?;
    chart.draw_series(density_cells(
        landscape.bounds,
        landscape.resolution,
        landscape.energy,
    ))?;
    plane::draw_axes(&mut chart, false)?;
    draw_layers(&mut chart, landscape.bounds, &landscape.layers)?;
    draw_colorbar(&bar)
}

/// One filled rectangle per grid cell, coloured by its density exp(−(E − min E)). Shared by the
/// landscape and trajectory plots.
pub(crate) fn density_cells(
    bounds: [f32; 4],
    resolution: usize,
    energy: &[f32],
) -> impl Iterator<Item = Rectangle<(f32, f32)>> + '_ {
    let [x_min, x_max, y_min, y_max] = bounds;
    let n = resolution;
    let (dx, dy) = ((x_max - x_min) / n as f32, (y_max - y_min) / n as f32);
    // The minimum over finite energies only: one NaN must not grey out the plot.
    let min_energy = energy
        .iter()
        .copied()
        .filter(|e| e.is_finite())
        .fold(f32::INFINITY, f32::min);
    energy.iter().enumerate().map(move |(k, &e)| {
        let (i, j) = ((k % n) as f32, (k / n) as f32);
        // Edges come from the same formula for both neighbours, so cells tile
        // without seams.
        let corner = |a: f32, b: f32| (x_min + a * dx, y_min + b * dy);
        let color = if e.is_finite() {
            viridis((-(f64::from(e) - f64::from(min_energy))).exp())
        } else {
            style::NEUTRAL_GREY
        };
        Rectangle::new([corner(i, j), corner(i + 1.0, j + 1.0)], color.filled())
    })
}
