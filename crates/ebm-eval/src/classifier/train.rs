//! Training the evaluation classifier: cross-entropy, AdamW, seeded shuffles, a fixed number of
//! epochs. Reproducible on the same machine and thread count, like training runs.

use super::{Classifier, ClassifierInfo};
use crate::{Error, Result};
use candle_core::{Device, Tensor};
use ebm_core::{rng, Error as CoreError, ScheduleConfig};
use ebm_data::Points;
use ebm_train::{AdamW, OptimConfig};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// How the classifier is trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassifierConfig {
    pub hidden: Vec<usize>,
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    /// Train on the first `n_train` training images (all by default).
    pub n_train: Option<usize>,
    pub seed: u64,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        ClassifierConfig {
            hidden: vec![512, 256],
            epochs: 3,
            batch_size: 128,
            lr: 1e-3,
            n_train: None,
            seed: 0,
        }
    }
}

impl ClassifierConfig {
    pub fn validate(&self) -> Result<()> {
        let bad =
            |key: &str, msg: &str| Err(CoreError::config(format!("classifier.{key}"), msg).into());
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return bad("hidden", "need at least one hidden layer, all widths > 0");
        }
        if self.epochs == 0 || self.batch_size == 0 {
            return bad("epochs", "epochs and batch_size must be at least 1");
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad("lr", "must be finite and > 0");
        }
        Ok(())
    }
}

/// Labels of a labelled image set, or an error naming which set has none.
fn labels<'a>(points: &'a Points, what: &'static str) -> Result<&'a [u8]> {
    points.labels.as_deref().ok_or(Error::Unlabelled { what })
}

/// Trains a classifier on `train` and measures it on `test` (both labelled images).
pub fn train_classifier(
    train: &Points,
    test: &Points,
    data_kind: &str,
    cfg: &ClassifierConfig,
) -> Result<(Classifier, ClassifierInfo)> {
    cfg.validate()?;
    let device = Device::Cpu;
    let n = cfg.n_train.unwrap_or(train.len()).min(train.len());
    let train_labels = &labels(train, "training")?[..n];
    let classes = usize::from(train_labels.iter().copied().max().unwrap_or(0)) + 1;
    let x = train.to_tensor(&device)?.narrow(0, 0, n)?;
    let y = Tensor::from_vec(
        train_labels
            .iter()
            .map(|&l| u32::from(l))
            .collect::<Vec<_>>(),
        n,
        &device,
    )?;
    let mut init = rng::stream(cfg.seed, "classifier-init", 0);
    let net = Classifier::new(train.dim, &cfg.hidden, classes, &mut init)?;
    let mut opt = AdamW::new(
        net.params(),
        OptimConfig {
            lr: ScheduleConfig::Constant(cfg.lr),
            ..OptimConfig::default()
        },
    )?;
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut shuffle = rng::stream(cfg.seed, "classifier-batches", 0);
    for _ in 0..cfg.epochs {
        order.shuffle(&mut shuffle);
        for batch in order.chunks(cfg.batch_size) {
            let idx = Tensor::from_slice(batch, batch.len(), &device)?;
            let logits = net.forward(&x.index_select(&idx, 0)?)?.1;
            let loss = candle_nn::loss::cross_entropy(&logits, &y.index_select(&idx, 0)?)?;
            let grads = loss.backward()?;
            let norm = opt.grad_norm(&grads)?;
            opt.step(&grads, cfg.lr, norm)?;
        }
    }
    let test_accuracy = net.accuracy(&test.to_tensor(&device)?, labels(test, "test")?)?;
    let info = ClassifierInfo {
        data_kind: data_kind.to_string(),
        input_shape: train.shape.clone(),
        hidden: cfg.hidden.clone(),
        classes,
        n_train: n,
        epochs: cfg.epochs,
        seed: cfg.seed,
        test_accuracy,
    };
    Ok((net, info))
}
