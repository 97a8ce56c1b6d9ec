//! Mode coverage: how a set of images spreads over the classifier's classes. A model that
//! draws only tops scores a low `min_class_fraction` however good each top looks.

use crate::Result;
use ebm_core::Error as CoreError;
use serde::{Deserialize, Serialize};

/// The histogram of the classifier's predicted classes (arg-max logit) over a set of images.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassHistogram {
    /// Images per class, class 0 first; they sum to the set's size.
    pub counts: Vec<usize>,
    /// `counts` over the set's size.
    pub fractions: Vec<f64>,
    /// The smallest fraction: 1/classes for a set spread evenly, 0 when a class is missing.
    pub min_class_fraction: f64,
}

impl ClassHistogram {
    /// Counts `predicted` class indices, each below `classes`.
    pub fn from_predictions(predicted: &[u32], classes: usize) -> Result<Self> {
        let bad = |message: String| CoreError::invalid_argument("class histogram", message);
        if classes == 0 || predicted.is_empty() {
            return Err(bad(format!(
                "need at least one class and one prediction ({classes} classes, {} predictions)",
                predicted.len()
            ))
            .into());
        }
        let mut counts = vec![0usize; classes];
        for &p in predicted {
            let slot = counts.get_mut(p as usize).ok_or_else(|| {
                bad(format!(
                    "predicted class {p} is not below the {classes} classes"
                ))
            })?;
            *slot += 1;
        }
        let n = predicted.len() as f64;
        let fractions: Vec<f64> = counts.iter().map(|&c| c as f64 / n).collect();
        let min_class_fraction = fractions.iter().copied().fold(f64::INFINITY, f64::min);
        Ok(ClassHistogram {
            counts,
            fractions,
            min_class_fraction,
        })
    }

    /// One line: `0:12.1% 1:9.8% … min 3.2%`.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self
            .fractions
            .iter()
            .enumerate()
            .map(|(i, f)| format!("{i}:{:.1}%", 100.0 * f))
            .collect();
        parts.push(format!("min {:.1}%", 100.0 * self.min_class_fraction));
        parts.join(" ")
    }
}

/// The class names of a labelled image data set, by `data.kind`, in label order.
pub fn class_names(data_kind: &str) -> Option<&'static [&'static str]> {
    match data_kind {
        // Zalando Research's fashion-mnist README.
        "fashion_mnist" => Some(&[
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ]),
        // batches.meta.txt of the CIFAR-10 binary version.
        "cifar10" => Some(&[
            "airplane",
            "automobile",
            "bird",
            "cat",
            "deer",
            "dog",
            "frog",
            "horse",
            "ship",
            "truck",
        ]),
        _ => None,
    }
}
