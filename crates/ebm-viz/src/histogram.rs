//! Overlaid histograms of energies, e.g. E(data) against E(samples): a trained EBM should give
//! both the same distribution, and a gap shows which side the sampler or the model is off on.
//!
//! All sets share one set of equal-width bins over their joint range, so bars line up. Heights
//! are the fraction of each set per bin (sets of different sizes compare directly); bars are
//! translucent so overlaps stay visible, and a legend names each set.

use std::path::Path;

use plotters::chart::ChartBuilder;
use plotters::element::Rectangle;
use plotters::prelude::SeriesLabelPosition;
use plotters::style::{Color, BLACK, TRANSPARENT, WHITE};

use crate::axis::format_tick;
use crate::render::render_png;
use crate::{style, Error, Result};

/// One set of values with its legend label and bar colour.
#[derive(Debug, Clone, Copy)]
pub struct HistogramSet<'a> {
    pub label: &'a str,
    pub values: &'a [f64],
    pub color: (u8, u8, u8),
}

/// Several sets drawn over shared bins.
#[derive(Debug, Clone)]
pub struct Histogram<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub sets: Vec<HistogramSet<'a>>,
    /// Number of equal-width bins across the joint range (at least 1).
    pub bins: usize,
}

/// The shared bins: `bins` equal widths over `[lo, hi]`, and per set the fraction in each bin.
#[derive(Debug, Clone, PartialEq)]
pub struct Binned {
    pub lo: f64,
    pub hi: f64,
    pub fractions: Vec<Vec<f64>>,
}

impl Histogram<'_> {
    /// Checks the input and bins every set. Errors on no sets, an empty set, a non-finite value
    /// (naming the set and index) or zero bins.
    pub fn bin(&self) -> Result<Binned> {
        if self.sets.is_empty() {
            return Err(Error::invalid("histogram: no sets to draw"));
        }
        if self.bins == 0 || self.bins > 10_000 {
            return Err(Error::invalid(format!(
                "histogram: {} bins (must be 1..=10000)",
                self.bins
            )));
        }
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for set in &self.sets {
            if set.values.is_empty() {
                return Err(Error::invalid(format!(
                    "histogram: set `{}` is empty",
                    set.label
                )));
            }
            if let Some(i) = set.values.iter().position(|v| !v.is_finite()) {
                return Err(Error::invalid(format!(
                    "histogram: set `{}` has a non-finite value at index {i} ({})",
                    set.label, set.values[i]
                )));
            }
            for &v in set.values {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        if lo == hi {
            // One value everywhere: a unit-wide bin range centred on it.
            (lo, hi) = (lo - 0.5, hi + 0.5);
        }
        if !(hi - lo).is_finite() {
            return Err(Error::invalid(format!(
                "histogram: range {lo}..{hi} is too wide to bin"
            )));
        }
        let width = (hi - lo) / self.bins as f64;
        let fractions = self
            .sets
            .iter()
            .map(|set| {
                let mut counts = vec![0.0; self.bins];
                for &v in set.values {
                    // The maximum falls on the upper edge: it belongs to the last bin.
                    let k = (((v - lo) / width) as usize).min(self.bins - 1);
                    counts[k] += 1.0;
                }
                let n = set.values.len() as f64;
                counts.iter().map(|c| c / n).collect()
            })
            .collect();
        Ok(Binned { lo, hi, fractions })
    }
}

/// Draws `hist` as a PNG: translucent bars per set over shared bins, with a legend.
pub fn draw_histogram(path: &Path, hist: &Histogram) -> Result<()> {
    let binned = hist.bin()?;
    let width = (binned.hi - binned.lo) / hist.bins as f64;
    let top = binned
        .fractions
        .iter()
        .flatten()
        .fold(0.0f64, |a, &b| a.max(b))
        * 1.1;
    render_png(path, style::CHART_SIZE, |root| {
        let mut ctx = ChartBuilder::on(root)
            .caption(hist.title, style::title_font())
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(75)
            .build_cartesian_2d(binned.lo..binned.hi, 0.0..top)?;
        let tick = |v: &f64| format_tick(*v);
        ctx.configure_mesh()
            .x_labels(10)
            .y_labels(8)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .label_style(style::tick_font())
            .x_desc(hist.x_label)
            .y_desc("fraction per bin")
            .axis_desc_style(style::label_font())
            .bold_line_style(style::GRID_GREY.stroke_width(1))
            .light_line_style(TRANSPARENT)
            .axis_style(BLACK.stroke_width(1))
            .draw()?;
        for (set, fractions) in hist.sets.iter().zip(&binned.fractions) {
            let color = style::rgb(set.color);
            let bars = fractions.iter().enumerate().map(|(k, &f)| {
                let x0 = binned.lo + k as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width, f)], color.mix(0.45).filled())
            });
            let anno = ctx.draw_series(bars)?;
            if !set.label.is_empty() {
                anno.label(set.label).legend(move |(px, py)| {
                    Rectangle::new([(px, py - 6), (px + 18, py + 6)], color.mix(0.6).filled())
                });
            }
            // Outlines on top of the fill keep each set's shape readable where bars overlap.
            ctx.draw_series(fractions.iter().enumerate().map(|(k, &f)| {
                let x0 = binned.lo + k as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width, f)], color.stroke_width(1))
            }))?;
        }
        if hist.sets.iter().any(|s| !s.label.is_empty()) {
            ctx.configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(style::label_font())
                .draw()?;
        }
        Ok(())
    })
}
