//! Building the [`Value`]s of a summary: scalars, PNG images, histograms and text, as
//! TensorBoard's own writers lay them out.

use super::proto::{
    Dim, HistogramProto, Image, Kind, PluginData, SummaryMetadata, TensorProto, TensorShapeProto,
    Value, DT_STRING,
};

/// Buckets of a histogram (fewer when the values are all equal).
pub const HISTOGRAM_BUCKETS: usize = 30;

pub fn scalar(tag: &str, value: f64) -> Value {
    Value {
        tag: tag.to_string(),
        metadata: None,
        kind: Some(Kind::SimpleValue(value as f32)),
    }
}

/// The width, height and TensorBoard colorspace of a PNG, from its IHDR chunk.
pub fn png_header(png: &[u8]) -> Result<(u32, u32, i32), String> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if png.len() < 26 || &png[..8] != SIGNATURE || &png[12..16] != b"IHDR" {
        return Err("not a PNG file (no signature and IHDR chunk)".into());
    }
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().expect("4 bytes"));
    let colorspace = match png[25] {
        0 => 1, // grey
        4 => 2, // grey + alpha
        6 => 4, // RGBA
        _ => 3, // RGB, palette
    };
    Ok((be(16), be(20), colorspace))
}

/// A PNG image (its size read from the file).
pub fn image_png(tag: &str, png: &[u8]) -> Result<Value, String> {
    let (width, height, colorspace) = png_header(png)?;
    let dim = |v: u32| i32::try_from(v).map_err(|_| format!("PNG dimension {v} is too large"));
    Ok(Value {
        tag: tag.to_string(),
        metadata: None,
        kind: Some(Kind::Image(Image {
            height: dim(height)?,
            width: dim(width)?,
            colorspace,
            encoded_image_string: png.to_vec(),
        })),
    })
}

/// The histogram of the finite `values` in [`HISTOGRAM_BUCKETS`] equal buckets from their min to
/// their max (`bucket_limit` are the right edges, the last one the max); `None` when no value is
/// finite.
pub fn histogram(values: &[f64]) -> Option<HistogramProto> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let first = *finite.first()?;
    let (min, max) = finite
        .iter()
        .fold((first, first), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let n = if max > min { HISTOGRAM_BUCKETS } else { 1 };
    let width = (max - min) / n as f64;
    let mut bucket_limit: Vec<f64> = (1..=n).map(|i| min + width * i as f64).collect();
    bucket_limit[n - 1] = max;
    let mut bucket = vec![0.0; n];
    for &v in &finite {
        // The bucket whose right edge is the first one >= v (rounding can put v a hair past the
        // edge the division suggests).
        let guess = if width > 0.0 {
            (((v - min) / width).floor() as usize).min(n - 1)
        } else {
            0
        };
        let mut i = guess;
        while i > 0 && v <= bucket_limit[i - 1] {
            i -= 1;
        }
        while i < n - 1 && v > bucket_limit[i] {
            i += 1;
        }
        bucket[i] += 1.0;
    }
    Some(HistogramProto {
        min,
        max,
        num: finite.len() as f64,
        sum: finite.iter().sum(),
        sum_squares: finite.iter().map(|v| v * v).sum(),
        bucket_limit,
        bucket,
    })
}

/// Text for TensorBoard's text plugin (rendered as Markdown): a string tensor of shape `[1]`.
pub fn text(tag: &str, text: &str) -> Value {
    Value {
        tag: tag.to_string(),
        metadata: Some(SummaryMetadata {
            plugin_data: Some(PluginData {
                plugin_name: "text".into(),
                content: Vec::new(),
            }),
        }),
        kind: Some(Kind::Tensor(TensorProto {
            dtype: DT_STRING,
            tensor_shape: Some(TensorShapeProto {
                dim: vec![Dim { size: 1 }],
            }),
            string_val: vec![text.as_bytes().to_vec()],
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_cover_min_to_max() {
        let values: Vec<f64> = (0..=100).map(f64::from).chain([f64::NAN]).collect();
        let h = histogram(&values).unwrap();
        assert_eq!((h.min, h.max, h.num), (0.0, 100.0, 101.0));
        assert_eq!(h.bucket_limit.len(), HISTOGRAM_BUCKETS);
        assert_eq!(*h.bucket_limit.last().unwrap(), 100.0);
        assert!(h.bucket_limit.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(h.bucket.iter().sum::<f64>(), 101.0);
        // Bucket i counts the values in (previous limit, limit].
        for (i, &count) in h.bucket.iter().enumerate() {
            let lo = if i == 0 {
                f64::NEG_INFINITY
            } else {
                h.bucket_limit[i - 1]
            };
            let inside = (0..=100)
                .map(f64::from)
                .filter(|&v| v > lo && v <= h.bucket_limit[i])
                .count();
            assert_eq!(count, inside as f64, "bucket {i}");
        }
        assert_eq!(h.sum, 5050.0);

        let same = histogram(&[2.5, 2.5, 2.5]).unwrap();
        assert_eq!((same.bucket_limit, same.bucket), (vec![2.5], vec![3.0]));
        assert!(histogram(&[f64::NAN, f64::INFINITY]).is_none());
        assert!(histogram(&[]).is_none());
    }

    #[test]
    fn png_size_comes_from_the_header() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        png.extend_from_slice(&[8, 6, 0, 0, 0]);
        assert_eq!(png_header(&png).unwrap(), (640, 480, 4));
        assert!(png_header(b"GIF89a, not a png at all....").is_err());
    }
}
