//! The run's figures: the energy landscape (model density) with data and samples on top, and
//! the loss and energy curves from the metrics log. Only 2-D data has a landscape.

use crate::Result;
use candle_core::{Device, Tensor};
use ebm_core::Energy;
use ebm_train::MetricsLog;
use ebm_viz::{Landscape, LineChart, PointLayer, Series};
use std::path::Path;

pub const GRID: usize = 120;
const DATA_COLOR: (u8, u8, u8) = (255, 255, 255);
const SAMPLE_COLOR: (u8, u8, u8) = (240, 80, 40);

/// Rows of a `[n, 2]` tensor as points (at most `max`).
pub fn points_2d(x: &Tensor, max: usize) -> Result<Vec<[f32; 2]>> {
    let n = x.dims()[0].min(max);
    let rows = x.narrow(0, 0, n)?.to_vec2::<f32>()?;
    Ok(rows.into_iter().map(|r| [r[0], r[1]]).collect())
}

/// What the landscape shades: exp(−E), or for a gradient-field network (no energy values)
/// exp(−½‖g‖²), bright where the field vanishes, i.e. at its equilibria.
pub fn density_label(energy: &dyn Energy) -> &'static str {
    if energy.has_energy_values() {
        "exp(-E)"
    } else {
        "exp(-|g|^2/2)"
    }
}

/// E on the `GRID`² points of `bounds`, or ½‖g‖² where the model has no energy values; the
/// grid is built on the model's `device`.
pub fn grid_energy(energy: &dyn Energy, bounds: [f32; 4], device: &Device) -> Result<Vec<f32>> {
    let grid = ebm_viz::grid_points(bounds, GRID);
    let flat: Vec<f32> = grid.iter().flat_map(|p| *p).collect();
    let x = Tensor::from_vec(flat, (grid.len(), 2), device)?;
    let e = if energy.has_energy_values() {
        energy.energy(&x)?
    } else {
        (energy.grad(&x)?.sqr()?.sum(1)? * 0.5)?
    };
    Ok(e.to_vec1::<f32>()?)
}

/// Draws the density exp(−E) on the data's plot box with data and samples, from the energies
/// [`grid_energy`] gave on that box.
pub fn landscape(
    path: &Path,
    title: &str,
    grid_energies: &[f32],
    bounds: [f32; 4],
    data: &[[f32; 2]],
    samples: &[[f32; 2]],
    samples_label: &str,
) -> Result<()> {
    let layers = vec![
        PointLayer {
            label: "data",
            points: data,
            color: DATA_COLOR,
        },
        PointLayer {
            label: samples_label,
            points: samples,
            color: SAMPLE_COLOR,
        },
    ];
    ebm_viz::draw_landscape(
        path,
        &Landscape {
            title,
            bounds,
            resolution: GRID,
            energy: grid_energies,
            layers,
        },
    )?;
    Ok(())
}

/// `loss.png` and `energy.png` (E(data), E(samples) and their gap) from the metrics so far.
pub fn curves(dir: &Path, log: &MetricsLog) -> Result<()> {
    let loss = log.series("loss");
    ebm_viz::draw_line_chart(
        &dir.join("loss.png"),
        &LineChart {
            title: "training loss",
            x_label: "step",
            y_label: "loss",
            series: vec![Series {
                label: "loss",
                points: &loss,
                color: (30, 90, 200),
            }],
            log_y: false,
        },
    )?;
    let (e_data, e_samples, gap) = (
        log.series("e_data"),
        log.series("e_samples"),
        log.series("energy_gap"),
    );
    if e_data.is_empty() {
        return Ok(());
    }
    ebm_viz::draw_line_chart(
        &dir.join("energy.png"),
        &LineChart {
            title: "energies",
            x_label: "step",
            y_label: "mean energy",
            series: vec![
                Series {
                    label: "E(data)",
                    points: &e_data,
                    color: (30, 90, 200),
                },
                Series {
                    label: "E(samples)",
                    points: &e_samples,
                    color: SAMPLE_COLOR,
                },
                Series {
                    label: "gap E(samples) - E(data)",
                    points: &gap,
                    color: (40, 160, 60),
                },
            ],
            log_y: false,
        },
    )?;
    Ok(())
}
