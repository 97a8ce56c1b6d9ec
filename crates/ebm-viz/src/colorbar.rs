//! The colour bar beside a landscape: which colour means which model density.

use plotters::chart::ChartBuilder;
use plotters::element::Rectangle;
use plotters::style::{Color, BLACK};

use crate::axis::format_tick;
use crate::colormap::viridis;
use crate::plane::{MARGIN, X_LABEL_AREA};
use crate::render::{Canvas, DrawResult};
use crate::style;

/// Enough stripes that neighbouring ones differ by less than one colour step.
const STRIPES: u32 = 256;

/// Fills `area` (a narrow strip) with a vertical colour bar for densities in
/// [0, 1], its top and bottom level with the main plot beside it.
pub(crate) fn draw_colorbar(area: &Canvas) -> DrawResult {
    let mut chart = ChartBuilder::on(area)
        // Same vertical margins as the plane, so both plots line up.
        .margin_top(MARGIN)
        .margin_bottom(MARGIN + X_LABEL_AREA)
        .margin_left(5)
        .margin_right(5)
        .right_y_label_area_size(62)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)?;
    let step = 1.0 / f64::from(STRIPES);
    chart.draw_series((0..STRIPES).map(|k| {
        let lo = f64::from(k) * step;
        let color = viridis(lo + step / 2.0);
        Rectangle::new([(0.0, lo), (1.0, lo + step)], color.filled())
    }))?;
    let tick = |v: &f64| format_tick(*v);
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(6)
        .y_label_formatter(&tick)
        .label_style(style::tick_font())
        .y_desc("density  exp(-(E - min E))")
        .axis_desc_style(style::label_font())
        .axis_style(BLACK.stroke_width(1))
        .draw()?;
    chart.draw_series(std::iter::once(Rectangle::new(
        [(0.0, 0.0), (1.0, 1.0)],
        BLACK.stroke_width(1),
    )))?;
    Ok(())
}
