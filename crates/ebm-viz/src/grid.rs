//! The regular grid a landscape is sampled on, and validation of its inputs.

use crate::{Error, Result};

/// Grid cell centres in the order `Landscape::energy` must be given: row-major,
/// bottom row (lowest y) first, x increasing within a row. Callers evaluate their
/// energy on these points. Returns an empty vector for `resolution == 0`.
pub fn grid_points(bounds: [f32; 4], resolution: usize) -> Vec<[f32; 2]> {
    let [x_min, x_max, y_min, y_max] = bounds;
    let n = resolution as f32;
    let (dx, dy) = ((x_max - x_min) / n, (y_max - y_min) / n);
    (0..resolution)
        .flat_map(|j| {
            (0..resolution)
                .map(move |i| [x_min + (i as f32 + 0.5) * dx, y_min + (j as f32 + 0.5) * dy])
        })
        .collect()
}

/// Rejects bounds that cannot span a plot: non-finite, empty or inverted.
pub(crate) fn check_bounds(bounds: [f32; 4]) -> Result<()> {
    let [x_min, x_max, y_min, y_max] = bounds;
    let spans = |lo: f32, hi: f32| lo < hi && (hi - lo).is_finite();
    if bounds.iter().all(|b| b.is_finite()) && spans(x_min, x_max) && spans(y_min, y_max) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "bounds {bounds:?} must be finite with x_min < x_max and y_min < y_max"
        )))
    }
}

/// Rejects a zero resolution and an energy slice of the wrong length.
pub(crate) fn check_energy(resolution: usize, energy: &[f32]) -> Result<()> {
    if resolution == 0 {
        return Err(Error::invalid("resolution must be at least 1"));
    }
    let expected = resolution
        .checked_mul(resolution)
        .ok_or_else(|| Error::invalid(format!("resolution {resolution} is too large")))?;
    if energy.len() != expected {
        return Err(Error::invalid(format!(
            "energy has {} values but a {resolution}x{resolution} grid needs {expected}",
            energy.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_row_major_bottom_row_first() {
        let pts = grid_points([0.0, 4.0, -2.0, 2.0], 2);
        assert_eq!(pts, vec![[1.0, -1.0], [3.0, -1.0], [1.0, 1.0], [3.0, 1.0]]);
        assert!(grid_points([0.0, 1.0, 0.0, 1.0], 0).is_empty());
    }

    #[test]
    fn validation() {
        assert!(check_bounds([0.0, 1.0, 0.0, 1.0]).is_ok());
        assert!(check_bounds([1.0, 1.0, 0.0, 1.0]).is_err());
        assert!(check_bounds([0.0, 1.0, 2.0, 1.0]).is_err());
        assert!(check_bounds([0.0, f32::NAN, 0.0, 1.0]).is_err());
        assert!(check_bounds([-f32::MAX, f32::MAX, 0.0, 1.0]).is_err());
        assert!(check_energy(2, &[0.0; 4]).is_ok());
        assert!(check_energy(0, &[]).is_err());
        assert!(check_energy(usize::MAX, &[]).is_err());
    }
}
