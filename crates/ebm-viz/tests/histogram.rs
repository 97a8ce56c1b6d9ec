//! Energy histograms: shared bins hold the right fractions, the PNG is real and shows both
//! colours, and empty or non-finite input is an error, not a panic.

mod common;

use common::{assert_real_png, count_near};
use ebm_viz::{draw_histogram, Error, Histogram, HistogramSet};

const RED: (u8, u8, u8) = (220, 30, 30);
const BLUE: (u8, u8, u8) = (30, 30, 220);

fn hist<'a>(data: &'a [f64], samples: &'a [f64], bins: usize) -> Histogram<'a> {
    Histogram {
        title: "Energies",
        x_label: "E(x)",
        sets: vec![
            HistogramSet {
                label: "data",
                values: data,
                color: RED,
            },
            HistogramSet {
                label: "samples",
                values: samples,
                color: BLUE,
            },
        ],
        bins,
    }
}

#[test]
fn shared_bins_hold_fractions() {
    let data = [0.0, 1.0, 1.0, 4.0];
    let samples = [2.0, 3.9];
    let b = hist(&data, &samples, 4).bin().unwrap();
    assert_eq!((b.lo, b.hi), (0.0, 4.0));
    assert_eq!(b.fractions[0], vec![0.25, 0.5, 0.0, 0.25]);
    assert_eq!(b.fractions[1], vec![0.0, 0.0, 0.5, 0.5]);
    // One value everywhere still gets a range.
    let flat = hist(&[2.0], &[2.0, 2.0], 3).bin().unwrap();
    assert_eq!((flat.lo, flat.hi), (1.5, 2.5));
    assert_eq!(flat.fractions[1], vec![0.0, 1.0, 0.0]);
}

#[test]
fn writes_an_overlaid_png() {
    let data: Vec<f64> = (0..500).map(|i| (i as f64 * 0.37).sin() * 2.0).collect();
    let samples: Vec<f64> = (0..300).map(|i| 1.0 + (i as f64 * 0.73).cos()).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("energies.png");
    draw_histogram(&path, &hist(&data, &samples, 30)).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 1000);
    let img = assert_real_png(&path, (900, 500));
    // Translucent red and blue bars (and their overlap) are all visible.
    assert!(count_near(&img, [238, 137, 137]) > 500, "red bars");
    assert!(count_near(&img, [137, 137, 238]) > 500, "blue bars");
}

#[test]
fn bad_input_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.png");
    let ok = [1.0, 2.0];
    let invalid =
        |h: Histogram| matches!(draw_histogram(&path, &h), Err(Error::InvalidInput { .. }));
    assert!(invalid(hist(&[], &ok, 10)), "empty set");
    assert!(invalid(hist(&ok, &[1.0, f64::NAN], 10)), "NaN");
    assert!(invalid(hist(&[f64::INFINITY], &ok, 10)), "infinite");
    assert!(invalid(hist(&ok, &ok, 0)), "no bins");
    assert!(invalid(hist(&[-1e308], &[1e308], 10)), "overflowing range");
    let mut none = hist(&ok, &ok, 10);
    none.sets.clear();
    assert!(invalid(none), "no sets");
    assert!(!path.exists());
}
