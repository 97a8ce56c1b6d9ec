//! ebm-viz: PNG output for training runs.
//!
//! Plain slices in, PNG files out: energy landscapes with sample clouds on top,
//! scatter plots of point clouds, and line charts of training curves. Text is
//! drawn with an embedded DejaVu Sans, so rendering works on a bare machine
//! without system fonts. Every file is written to a temporary sibling and renamed
//! into place, so a crashed run never leaves a half-written PNG behind.

mod axis;
mod colorbar;
mod colormap;
mod error;
mod font;
mod grid;
mod histogram;
mod image_grid;
mod landscape;
mod layers;
mod line_chart;
mod plane;
mod render;
mod scatter;
mod style;
mod trajectories;

pub use error::{Error, Result};
pub use grid::grid_points;
pub use histogram::{draw_histogram, Binned, Histogram, HistogramSet};
pub use image_grid::{draw_image_grid, to_byte, ImageGrid, TITLE_HEIGHT};
pub use landscape::{draw_landscape, Landscape};
pub use layers::PointLayer;
pub use line_chart::{draw_line_chart, LineChart, Series};
pub use scatter::draw_scatter;
pub use trajectories::{draw_trajectories, Trajectories, PATH_COLORS};
