//! The feature network of image evaluation: a small classifier that ebm trains itself on the
//! run's labelled training images (nothing is downloaded), whose last hidden layer is the
//! feature space of the FID-like Fréchet distance and of KID ([`crate::image_metrics`]).
//!
//! It is an MLP on the flattened image, Linear → ReLU → … → Linear(·, classes), with seeded
//! PyTorch-default initial weights drawn by the models crate's layer init
//! ([`ebm_models::linear_uniform`], as `Mlp` draws them). It is not an `ebm_models::Mlp`: that
//! is an energy (one output, or a field of the input's size; smooth activations, no ReLU; no
//! access to its last hidden layer), and the classifier needs `classes` logits, ReLU and its
//! features. On Fashion-MNIST the default [512, 256] net reaches about
//! 88 % test accuracy in three epochs (seconds on a CPU): not Inception, but it separates the
//! garment classes, which is what a sample-quality feature space has to do. Trained once and
//! cached ([`cache`]); the test accuracy travels with the weights into every report.

pub mod cache;
mod coverage;
mod train;

pub use coverage::{class_names, ClassHistogram};
pub use train::{train_classifier, ClassifierConfig};

use crate::Result;
use candle_core::{DType, Device, Tensor, Var};
use ebm_core::{Param, Rng};
use ebm_models::linear_uniform;
use serde::{Deserialize, Serialize};

/// What a classifier was trained on and how well it does; saved beside its weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassifierInfo {
    /// `data.kind` of the training images.
    pub data_kind: String,
    /// One image, `[C, H, W]`.
    pub input_shape: Vec<usize>,
    pub hidden: Vec<usize>,
    pub classes: usize,
    pub n_train: usize,
    pub epochs: usize,
    pub seed: u64,
    /// Accuracy on the whole test split.
    pub test_accuracy: f64,
}

/// The classifier: weights `[out, in]` and biases per layer.
pub struct Classifier {
    layers: Vec<(Var, Var)>,
    input_dim: usize,
}

impl Classifier {
    /// Seeded U(±1/√fan_in) weights and biases, as `nn.Linear` starts.
    pub fn new(input_dim: usize, hidden: &[usize], classes: usize, rng: &mut Rng) -> Result<Self> {
        let mut widths = vec![input_dim];
        widths.extend_from_slice(hidden);
        widths.push(classes);
        let mut layers = Vec::new();
        for pair in widths.windows(2) {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            // The models crate's MLP layer init, draw for draw (weights, then biases).
            let w = linear_uniform(rng, &[fan_out, fan_in], fan_in, &Device::Cpu)?;
            let b = linear_uniform(rng, &[fan_out], fan_in, &Device::Cpu)?;
            layers.push((Var::from_tensor(&w)?, Var::from_tensor(&b)?));
        }
        Ok(Classifier { layers, input_dim })
    }

    /// Builds a classifier from its layers' `(weight [out, in], bias [out])` tensors, first
    /// layer first (how [`cache::load`] rebuilds a saved one; tests build tiny ones by hand).
    pub fn from_tensors(layers: Vec<(Tensor, Tensor)>) -> Result<Self> {
        let input_dim = layers.first().map(|(w, _)| w.dims()[1]).unwrap_or(0);
        let layers = layers
            .into_iter()
            .map(|(w, b)| Ok((Var::from_tensor(&w)?, Var::from_tensor(&b)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Classifier { layers, input_dim })
    }

    /// The trainable parameters, named as they are saved.
    pub fn params(&self) -> Vec<Param> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(i, (w, b))| {
                [
                    Param {
                        name: format!("layers.{i}.weight"),
                        var: w.clone(),
                    },
                    Param {
                        name: format!("layers.{i}.bias"),
                        var: b.clone(),
                    },
                ]
            })
            .collect()
    }

    /// Width of the feature layer (the last hidden layer).
    pub fn feature_dim(&self) -> usize {
        let n = self.layers.len();
        match n {
            1 => self.input_dim,
            _ => self.layers[n - 2].0.dims()[0],
        }
    }

    /// Number of classes (the width of the logits).
    pub fn classes(&self) -> usize {
        self.layers.last().map(|(w, _)| w.dims()[0]).unwrap_or(0)
    }

    /// Features (the last hidden activations, `[B, F]`) and logits (`[B, classes]`) of images
    /// `[B, ...]`.
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let b = x.dims()[0];
        let mut h = x.reshape((b, self.input_dim))?.to_dtype(DType::F32)?;
        let last = self.layers.len() - 1;
        for (i, (w, bias)) in self.layers.iter().enumerate() {
            let z = h
                .matmul(&w.as_tensor().t()?)?
                .broadcast_add(bias.as_tensor())?;
            if i == last {
                return Ok((h, z));
            }
            h = z.relu()?;
        }
        unreachable!("a classifier always has an output layer")
    }

    /// Features of `x` `[N, ...]`, `batch` rows at a time, as a flat `[N, F]` vector.
    pub fn features(&self, x: &Tensor, batch: usize) -> Result<Vec<f32>> {
        let n = x.dims()[0];
        let mut out = Vec::with_capacity(n * self.feature_dim());
        for start in (0..n).step_by(batch.max(1)) {
            let rows = x.narrow(0, start, batch.min(n - start))?;
            out.extend(self.forward(&rows)?.0.flatten_all()?.to_vec1::<f32>()?);
        }
        Ok(out)
    }

    /// Features of `x` `[N, ...]` as [`Classifier::features`] gives them, and each row's
    /// predicted class (the arg-max logit), from one forward pass per `batch` rows.
    pub fn features_and_predictions(
        &self,
        x: &Tensor,
        batch: usize,
    ) -> Result<(Vec<f32>, Vec<u32>)> {
        let n = x.dims()[0];
        let mut features = Vec::with_capacity(n * self.feature_dim());
        let mut predicted = Vec::with_capacity(n);
        for start in (0..n).step_by(batch.max(1)) {
            let (f, logits) = self.forward(&x.narrow(0, start, batch.min(n - start))?)?;
            features.extend(f.flatten_all()?.to_vec1::<f32>()?);
            predicted.extend(logits.argmax(1)?.to_vec1::<u32>()?);
        }
        Ok((features, predicted))
    }

    /// The histogram of predicted classes of `x` `[N, ...]` (mode coverage of a sample set).
    pub fn class_histogram(&self, x: &Tensor, batch: usize) -> Result<ClassHistogram> {
        let (_, predicted) = self.features_and_predictions(x, batch)?;
        ClassHistogram::from_predictions(&predicted, self.classes())
    }

    /// The fraction of `x` `[N, ...]` whose arg-max logit is its label.
    pub fn accuracy(&self, x: &Tensor, labels: &[u8]) -> Result<f64> {
        let n = x.dims()[0];
        let mut correct = 0usize;
        for start in (0..n).step_by(1000) {
            let len = 1000.min(n - start);
            let predicted = self
                .forward(&x.narrow(0, start, len)?)?
                .1
                .argmax(1)?
                .to_vec1::<u32>()?;
            correct += predicted
                .iter()
                .zip(&labels[start..start + len])
                .filter(|(p, l)| **p == u32::from(**l))
                .count();
        }
        Ok(correct as f64 / n.max(1) as f64)
    }
}
