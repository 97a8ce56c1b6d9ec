//! The x-y plane shared by landscapes and scatter plots: a chart over the given
//! bounds with tick labels in the embedded font.

use plotters::chart::{ChartBuilder, ChartContext};
use plotters::coord::types::RangedCoordf32;
use plotters::prelude::{BitMapBackend, Cartesian2d};
use plotters::style::{Color, BLACK, TRANSPARENT};

use crate::axis::format_tick;
use crate::render::{Canvas, DrawResult};
use crate::style;

/// A chart whose data coordinates are the model's 2-D input space.
pub(crate) type PlaneChart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf32, RangedCoordf32>>;

/// Pixels reserved below the plot for x tick labels.
pub(crate) const X_LABEL_AREA: u32 = 40;
/// Gap around the plot, so the outermost tick labels are not clipped.
pub(crate) const MARGIN: u32 = 15;

/// Builds a chart over `bounds` (already validated) filling `area`.
pub(crate) fn build<'a, 'b>(
    area: &'a Canvas<'b>,
    bounds: [f32; 4],
) -> Result<PlaneChart<'a, 'b>, Box<dyn std::error::Error>> {
    let [x_min, x_max, y_min, y_max] = bounds;
    let chart = ChartBuilder::on(area)
        .margin(MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(60)
        .build_cartesian_2d(x_min..x_max, y_min..y_max)?;
    Ok(chart)
}

/// Draws axes and tick labels; grid lines only when nothing fills the plot,
/// since over a heat map they would hide the colours.
pub(crate) fn draw_axes(chart: &mut PlaneChart, grid: bool) -> DrawResult {
    let tick = |v: &f32| format_tick(f64::from(*v));
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(8)
        .y_labels(8)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style(style::tick_font())
        .axis_style(BLACK.stroke_width(1));
    if grid {
        mesh.bold_line_style(style::GRID_GREY.stroke_width(1))
            .light_line_style(TRANSPARENT);
    } else {
        mesh.disable_mesh();
    }
    mesh.draw()?;
    Ok(())
}
