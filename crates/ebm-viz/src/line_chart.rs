//! Line charts of training curves (loss, energy gap, ...) against step.

use std::ops::Range;
use std::path::Path;

use plotters::chart::ChartBuilder;
use plotters::coord::combinators::IntoLogRange;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::element::{Circle, PathElement};
use plotters::prelude::SeriesLabelPosition;
use plotters::series::LineSeries;
use plotters::style::{Color, BLACK, TRANSPARENT, WHITE};

use crate::axis::{format_tick, linear_range, log_range};
use crate::render::{render_png, Canvas, DrawResult};
use crate::{style, Result};

/// One curve: `(x, y)` points in drawing order, usually (step, value).
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// Legend text; an empty label keeps the series out of the legend.
    pub label: &'a str,
    pub points: &'a [(f64, f64)],
    pub color: (u8, u8, u8),
}

/// Several series against training step, optionally on a log y axis.
#[derive(Debug, Clone)]
pub struct LineChart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub series: Vec<Series<'a>>,
    pub log_y: bool,
}

/// Draws `chart` as a PNG. Points with a non-finite coordinate (or, with
/// `log_y`, a non-positive y) are skipped and the line joins their neighbours;
/// a series left with a single point shows it as a dot.
pub fn draw_line_chart(path: &Path, chart: &LineChart) -> Result<()> {
    let kept: Vec<Vec<(f64, f64)>> = chart
        .series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .copied()
                .filter(|p| drawable(*p, chart.log_y))
                .collect()
        })
        .collect();
    let all = || kept.iter().flatten();
    // Steps are plotted edge to edge; values get a little air above and below.
    let x = linear_range(all().map(|p| p.0), 0.0);
    render_png(path, style::CHART_SIZE, |root| {
        if chart.log_y {
            let y = log_range(all().map(|p| p.1)).log_scale();
            draw(root, chart, &kept, x, y)
        } else {
            draw(
                root,
                chart,
                &kept,
                x,
                linear_range(all().map(|p| p.1), 0.05),
            )
        }
    })
}

fn drawable((x, y): (f64, f64), log_y: bool) -> bool {
    x.is_finite() && y.is_finite() && (!log_y || y > 0.0)
}

/// The body shared by linear and log y axes, generic over the y coordinate.
fn draw<Y>(
    root: &Canvas,
    chart: &LineChart,
    kept: &[Vec<(f64, f64)>],
    x: Range<f64>,
    y: Y,
) -> DrawResult
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut ctx = ChartBuilder::on(root)
        .caption(chart.title, style::title_font())
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(75)
        .build_cartesian_2d(x, y)?;
    let tick = |v: &f64| format_tick(*v);
    ctx.configure_mesh()
        .x_labels(10)
        .y_labels(8)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style(style::tick_font())
        .x_desc(chart.x_label)
        .y_desc(chart.y_label)
        .axis_desc_style(style::label_font())
        .bold_line_style(style::GRID_GREY.stroke_width(1))
        // Minor grid lines every tenth of a tick made the chart look busy.
        .light_line_style(TRANSPARENT)
        .axis_style(BLACK.stroke_width(1))
        .draw()?;
    for (series, points) in chart.series.iter().zip(kept) {
        let color = style::rgb(series.color);
        let anno = ctx.draw_series(LineSeries::new(
            points.iter().copied(),
            color.stroke_width(2),
        ))?;
        if !series.label.is_empty() {
            anno.label(series.label).legend(move |(px, py)| {
                PathElement::new(vec![(px, py), (px + 20, py)], color.stroke_width(2))
            });
        }
        // A line through one point is invisible; show the point itself.
        if let [only] = points.as_slice() {
            ctx.draw_series(std::iter::once(Circle::new(*only, 4, color.filled())))?;
        }
    }
    if chart.series.iter().any(|s| !s.label.is_empty()) {
        ctx.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(style::label_font())
            .draw()?;
    }
    Ok(())
}
