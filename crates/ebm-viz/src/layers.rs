//! Point clouds drawn on a plane (data, samples, replay buffer...), with a
//! legend naming them.

use plotters::element::{Circle, EmptyElement};
use plotters::prelude::SeriesLabelPosition;
use plotters::style::{Color, RGBColor, BLACK, WHITE};

use crate::plane::PlaneChart;
use crate::render::DrawResult;
use crate::style;

/// One labelled cloud of 2-D points in a single colour.
#[derive(Debug, Clone, Copy)]
pub struct PointLayer<'a> {
    /// Legend text; an empty label keeps the layer out of the legend.
    pub label: &'a str,
    pub points: &'a [[f32; 2]],
    pub color: (u8, u8, u8),
}

/// Above this many points in total, markers shrink so clouds stay readable.
const DENSE: usize = 2000;

/// Draws each layer in order (later layers on top), skipping points outside
/// `bounds` or with non-finite coordinates, then the legend if any layer has a
/// label.
pub(crate) fn draw_layers<'a, 'b: 'a>(
    chart: &mut PlaneChart<'a, 'b>,
    bounds: [f32; 4],
    layers: &[PointLayer],
) -> DrawResult {
    let [x_min, x_max, y_min, y_max] = bounds;
    // Comparisons are false for NaN, so non-finite points fall out here too.
    let inside = |p: &&[f32; 2]| p[0] >= x_min && p[0] <= x_max && p[1] >= y_min && p[1] <= y_max;
    let total: usize = layers.iter().map(|l| l.points.len()).sum();
    let radius = if total > DENSE { 2 } else { 3 };
    for layer in layers {
        let color = style::rgb(layer.color);
        let edge = darker(color);
        // A darker rim keeps markers visible on any background, including
        // white points on a white scatter or yellow ones on a bright peak.
        let markers = layer.points.iter().filter(inside).map(|p| {
            EmptyElement::at((p[0], p[1]))
                + Circle::new((0, 0), radius, color.mix(0.85).filled())
                + Circle::new((0, 0), radius, edge.stroke_width(1))
        });
        let anno = chart.draw_series(markers)?;
        if !layer.label.is_empty() {
            anno.label(layer.label).legend(move |at| {
                EmptyElement::at(at)
                    + Circle::new((0, 0), 5, color.filled())
                    + Circle::new((0, 0), 5, edge.stroke_width(1))
            });
        }
    }
    if layers.iter().any(|l| !l.label.is_empty()) {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(style::label_font())
            .draw()?;
    }
    Ok(())
}

/// The rim colour: the same hue at 60% brightness.
fn darker(c: RGBColor) -> RGBColor {
    let d = |v: u8| (u16::from(v) * 3 / 5) as u8;
    RGBColor(d(c.0), d(c.1), d(c.2))
}
