//! Chain trajectories: a few chains' paths drawn as polylines over the model density
//! exp(-(E - min E)), each with a start and an end marker, so one can see how chains travel
//! from their initial noise into the modes (or get stuck between them).

use std::path::Path;

use plotters::element::{Circle, EmptyElement, PathElement, Rectangle};
use plotters::prelude::SeriesLabelPosition;
use plotters::style::{Color, RGBColor, BLACK, WHITE};

use crate::colorbar::draw_colorbar;
use crate::grid::{check_bounds, check_energy};
use crate::plane::PlaneChart;
use crate::render::{render_png, Canvas, DrawResult};
use crate::{plane, style, Result};

/// Width of the strip right of the plot that holds the colour bar (as in landscapes).
const COLORBAR_WIDTH: u32 = 105;
/// Half-size of the start and end markers, in pixels.
const MARKER: i32 = 5;

/// Path colours, chosen to stand out on every viridis shade; paths beyond the last reuse them.
pub const PATH_COLORS: [(u8, u8, u8); 6] = [
    (230, 30, 30),
    (255, 150, 0),
    (255, 0, 255),
    (0, 190, 255),
    (255, 255, 255),
    (150, 60, 20),
];

/// Paths of chains over an energy landscape on a regular grid.
#[derive(Debug, Clone)]
pub struct Trajectories<'a> {
    pub title: &'a str,
    /// x_min, x_max, y_min, y_max.
    pub bounds: [f32; 4],
    /// The grid is resolution x resolution cells.
    pub resolution: usize,
    /// Energies at the grid points, in the order of [`crate::grid_points`].
    pub energy: &'a [f32],
    /// One polyline per chain, in time order.
    pub paths: &'a [Vec<[f32; 2]>],
}

/// Draws the density heat map with each path on top in its own colour ([`PATH_COLORS`]), a
/// white circle where it starts and a square in its colour where it ends, and a legend for the
/// markers. Segments with an end outside the bounds or non-finite are left out, so a chain that
/// wanders off the plot never draws over the axes.
///
/// Fails with [`crate::Error::InvalidInput`] for bad bounds, a zero resolution, or an energy
/// slice whose length is not `resolution * resolution`.
pub fn draw_trajectories(path: &Path, t: &Trajectories) -> Result<()> {
    check_bounds(t.bounds)?;
    check_energy(t.resolution, t.energy)?;
    render_png(path, style::SQUARE_SIZE, |root| draw(root, t))
}

fn draw(root: &Canvas, t: &Trajectories) -> DrawResult {
    let body = root.titled(t.title, style::title_font())?;
    let (width, _) = body.dim_in_pixel();
    let (main, bar) = body.split_horizontally(width.saturating_sub(COLORBAR_WIDTH));
    let mut chart = plane::build(&main, t.bounds)?;
    chart.draw_series(crate::landscape::density_cells(
        t.bounds,
        t.resolution,
        t.energy,
    ))?;
    plane::draw_axes(&mut chart, false)?;
    let inside = |p: &[f32; 2]| {
        let [x_min, x_max, y_min, y_max] = t.bounds;
        p[0] >= x_min && p[0] <= x_max && p[1] >= y_min && p[1] <= y_max
    };
    for (k, points) in t.paths.iter().enumerate() {
        let color = style::rgb(PATH_COLORS[k % PATH_COLORS.len()]);
        draw_path(&mut chart, points, color, &inside)?;
    }
    if t.paths.iter().any(|p| !p.is_empty()) {
        legend(&mut chart)?;
    }
    draw_colorbar(&bar)
}

/// One chain: its in-bounds segments, then the start and end markers.
fn draw_path<'a, 'b: 'a>(
    chart: &mut PlaneChart<'a, 'b>,
    points: &[[f32; 2]],
    color: RGBColor,
    inside: &dyn Fn(&[f32; 2]) -> bool,
) -> DrawResult {
    let segments = points
        .windows(2)
        .filter(|w| inside(&w[0]) && inside(&w[1]))
        .map(|w| {
            PathElement::new(
                vec![(w[0][0], w[0][1]), (w[1][0], w[1][1])],
                color.stroke_width(2),
            )
        });
    chart.draw_series(segments)?;
    if let Some(p) = points.first().filter(|p| inside(p)) {
        chart.draw_series(std::iter::once(
            EmptyElement::at((p[0], p[1]))
                + Circle::new((0, 0), MARKER, WHITE.filled())
                + Circle::new((0, 0), MARKER, BLACK.stroke_width(1)),
        ))?;
    }
    if let Some(p) = points.last().filter(|p| inside(p)) {
        chart.draw_series(std::iter::once(
            EmptyElement::at((p[0], p[1]))
                + Rectangle::new([(-MARKER, -MARKER), (MARKER, MARKER)], color.filled())
                + Rectangle::new(
                    [(-MARKER, -MARKER), (MARKER, MARKER)],
                    BLACK.stroke_width(1),
                ),
        ))?;
    }
    Ok(())
}

/// Legend entries for the two markers (the paths themselves are told apart by colour alone).
fn legend<'a, 'b: 'a>(chart: &mut PlaneChart<'a, 'b>) -> DrawResult {
    let none = std::iter::empty::<Circle<(f32, f32), i32>>;
    chart.draw_series(none())?.label("start").legend(|at| {
        EmptyElement::at(at)
            + Circle::new((0, 0), MARKER, WHITE.filled())
            + Circle::new((0, 0), MARKER, BLACK.stroke_width(1))
    });
    chart.draw_series(none())?.label("end").legend(|at| {
        EmptyElement::at(at)
            + Rectangle::new(
                [(-MARKER, -MARKER), (MARKER, MARKER)],
                style::rgb(PATH_COLORS[0]).filled(),
            )
            + Rectangle::new(
                [(-MARKER, -MARKER), (MARKER, MARKER)],
                BLACK.stroke_width(1),
            )
    });
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(style::label_font())
        .draw()?;
    Ok(())
}
