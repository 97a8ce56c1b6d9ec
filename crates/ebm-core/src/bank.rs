//! `ChainBank`: the persistent chains of PCD (Du & Mordatch's replay buffer). A draw picks distinct
//! chains, re-initialises each from noise with a small probability, and the advanced chains are
//! written back to the slots they came from, so no chain is duplicated or dropped.
//!
//! The bank lives on the host as one flat `Vec<f32>`: index gathers and write-backs are memcpy,
//! and the whole bank is one safetensors entry in a checkpoint.

use crate::{rng, Error, Result, Rng};
use candle_core::{Device, Tensor};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// Where new chains start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChainInit {
    /// N(mean, std²) in every coordinate.
    Normal {
        #[serde(default)]
        mean: f64,
        #[serde(default = "ChainInit::standard_std")]
        std: f64,
    },
    /// U(low, high) in every coordinate.
    Uniform { low: f64, high: f64 },
}

impl Default for ChainInit {
    /// N(0, 1).
    fn default() -> Self {
        ChainInit::Normal {
            mean: 0.0,
            std: ChainInit::standard_std(),
        }
    }
}

impl ChainInit {
    /// The std of `normal` when none is given, 1. serde cannot give an enum variant a
    /// container default, so the variant field names this function, and so does `default()`.
    fn standard_std() -> f64 {
        1.0
    }

    pub fn validate(&self, key: &str) -> Result<()> {
        // Each error names the field at fault (`eval.init.std`), not only the table.
        let field =
            |name: &str, message: String| Err(Error::config(format!("{key}.{name}"), message));
        match *self {
            ChainInit::Normal { mean, .. } if !mean.is_finite() => {
                field("mean", format!("normal needs a finite mean, got {mean}"))
            }
            ChainInit::Normal { std, .. } if !(std > 0.0 && std.is_finite()) => {
                field("std", format!("normal needs a finite std > 0, got {std}"))
            }
            ChainInit::Uniform { low, .. } if !low.is_finite() => {
                field("low", format!("uniform needs a finite low, got {low}"))
            }
            ChainInit::Uniform { high, .. } if !high.is_finite() => {
                field("high", format!("uniform needs a finite high, got {high}"))
            }
            ChainInit::Uniform { low, high } if low >= high => field(
                "high",
                format!("uniform needs low < high, got [{low}, {high}]"),
            ),
            _ => Ok(()),
        }
    }

    /// `n` values from this distribution.
    pub fn fill(&self, rng: &mut Rng, n: usize) -> Vec<f32> {
        match *self {
            ChainInit::Normal { mean, std } => rng::normal_vec(rng, n)
                .into_iter()
                .map(|z| (mean + std * z as f64) as f32)
                .collect(),
            ChainInit::Uniform { low, high } => {
                (0..n).map(|_| rng.random_range(low..high) as f32).collect()
            }
        }
    }

    /// A `[n, chain_shape...]` tensor of fresh chains.
    pub fn draw(
        &self,
        rng: &mut Rng,
        n: usize,
        chain_shape: &[usize],
        device: &Device,
    ) -> Result<Tensor> {
        let mut shape = vec![n];
        shape.extend_from_slice(chain_shape);
        let len = shape.iter().product();
        Ok(Tensor::from_vec(self.fill(rng, len), shape, device)?)
    }
}

/// Persistent chains: `capacity` chains of shape `chain_shape`.
#[derive(Clone, Debug)]
pub struct ChainBank {
    chains: Vec<f32>,
    chain_shape: Vec<usize>,
    capacity: usize,
    init: ChainInit,
}

/// Chains taken from the bank for one training step.
pub struct Drawn {
    /// The bank slots they came from (distinct).
    pub slots: Vec<usize>,
    /// Their positions, `[n, chain_shape...]`.
    pub x: Tensor,
}

impl ChainBank {
    /// A bank of `capacity` chains drawn from `init`.
    pub fn new(capacity: usize, chain_shape: &[usize], init: ChainInit, rng: &mut Rng) -> Self {
        let per = chain_shape.iter().product::<usize>();
        ChainBank {
            chains: init.fill(rng, capacity * per),
            chain_shape: chain_shape.to_vec(),
            capacity,
            init,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn chain_shape(&self) -> &[usize] {
        &self.chain_shape
    }

    fn per_chain(&self) -> usize {
        self.chain_shape.iter().product()
    }

    /// Takes `n` distinct chains; each is replaced by a fresh one from the init distribution with
    /// probability `reinit_prob`.
    pub fn draw(
        &self,
        n: usize,
        reinit_prob: f64,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Drawn> {
        if n > self.capacity {
            return Err(Error::invalid_argument(
                format!("draw {n} chains from a bank of {}", self.capacity),
                "make the bank at least the batch size",
            ));
        }
        let per = self.per_chain();
        let slots = rand::seq::index::sample(rng, self.capacity, n).into_vec();
        let mut x = Vec::with_capacity(n * per);
        for &s in &slots {
            if reinit_prob > 0.0 && rng.random::<f64>() < reinit_prob {
                x.extend(self.init.fill(rng, per));
            } else {
                x.extend_from_slice(&self.chains[s * per..(s + 1) * per]);
            }
        }
        let mut shape = vec![n];
        shape.extend_from_slice(&self.chain_shape);
        Ok(Drawn {
            slots,
            x: Tensor::from_vec(x, shape, device)?,
        })
    }

    /// Writes advanced chains back to the slots they were drawn from.
    pub fn write_back(&mut self, slots: &[usize], x: &Tensor) -> Result<()> {
        let per = self.per_chain();
        let values = x.flatten_all()?.to_vec1::<f32>()?;
        if values.len() != slots.len() * per {
            return Err(Error::shape(
                "chains written back to the bank",
                format!(
                    "{} slots but {} values (expected {} per chain)",
                    slots.len(),
                    values.len(),
                    per
                ),
            ));
        }
        for (i, &s) in slots.iter().enumerate() {
            self.chains[s * per..(s + 1) * per].copy_from_slice(&values[i * per..(i + 1) * per]);
        }
        Ok(())
    }

    /// All chains as `[capacity, chain_shape...]`.
    pub fn to_tensor(&self, device: &Device) -> Result<Tensor> {
        let mut shape = vec![self.capacity];
        shape.extend_from_slice(&self.chain_shape);
        Ok(Tensor::from_slice(&self.chains, shape, device)?)
    }

    /// The first `min(n, capacity)` chains as `[m, chain_shape...]`, copying only those (a
    /// fixed, RNG-free view for monitoring, e.g. the trainer's TensorBoard energy histogram).
    pub fn first(&self, n: usize, device: &Device) -> Result<Tensor> {
        let m = n.min(self.capacity);
        let mut shape = vec![m];
        shape.extend_from_slice(&self.chain_shape);
        let len = m * self.per_chain();
        Ok(Tensor::from_slice(&self.chains[..len], shape, device)?)
    }

    /// Replaces every chain with saved positions of the same shape.
    pub fn restore(&mut self, saved: &Tensor) -> Result<()> {
        let mut shape = vec![self.capacity];
        shape.extend_from_slice(&self.chain_shape);
        if saved.dims() != shape.as_slice() {
            return Err(Error::State {
                what: "chain bank".into(),
                message: format!("saved shape {:?}, configured {:?}", saved.dims(), shape),
            });
        }
        self.chains = saved.flatten_all()?.to_vec1::<f32>()?;
        Ok(())
    }

    /// Replaces the bank by `chains`, `[n, chain_shape...]` with any `n >= 1`: the capacity
    /// becomes `n`. Data-parallel training uses this to install a rank's shard after chains are
    /// exchanged or re-sharded for a different number of ranks (shards may differ by one chain).
    pub fn set_chains(&mut self, chains: &Tensor) -> Result<()> {
        let dims = chains.dims();
        if dims.first().is_none_or(|&n| n == 0) || dims[1..] != self.chain_shape[..] {
            return Err(Error::State {
                what: "chain bank".into(),
                message: format!(
                    "new chains have shape {dims:?}, expected [n >= 1, {:?}]",
                    self.chain_shape
                ),
            });
        }
        self.capacity = dims[0];
        self.chains = chains.flatten_all()?.to_vec1::<f32>()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draw_and_write_back_touch_only_the_drawn_slots() {
        let mut rng = rng::stream(1, "bank", 0);
        let mut bank = ChainBank::new(50, &[2], ChainInit::default(), &mut rng);
        let before = bank
            .to_tensor(&Device::Cpu)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let d = bank.draw(10, 0.0, &mut rng, &Device::Cpu).unwrap();
        let mut sorted = d.slots.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 10, "slots must be distinct");
        let drawn = d.x.to_vec2::<f32>().unwrap();
        for (i, &s) in d.slots.iter().enumerate() {
            assert_eq!(drawn[i], before[s]);
        }
        bank.write_back(&d.slots, &(d.x + 100.0).unwrap()).unwrap();
        let after = bank
            .to_tensor(&Device::Cpu)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        for (s, chain) in after.iter().enumerate() {
            let moved = d.slots.contains(&s);
            assert_eq!(chain[0] > 50.0, moved, "slot {s}");
        }
    }

    #[test]
    fn first_is_the_leading_chains_of_the_bank() {
        let mut rng = rng::stream(3, "bank", 0);
        let bank = ChainBank::new(6, &[2], ChainInit::default(), &mut rng);
        let all = bank
            .to_tensor(&Device::Cpu)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let four = bank
            .first(4, &Device::Cpu)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(four, all[..4]);
        assert_eq!(bank.first(100, &Device::Cpu).unwrap().dims(), [6, 2]);
    }

    #[test]
    fn reinit_probability_is_respected() {
        let mut rng = rng::stream(2, "bank", 0);
        let init = ChainInit::Uniform {
            low: 10.0,
            high: 11.0,
        };
        let mut bank = ChainBank::new(4000, &[1], init, &mut rng);
        bank.restore(&Tensor::zeros((4000, 1), candle_core::DType::F32, &Device::Cpu).unwrap())
            .unwrap();
        let d = bank.draw(4000, 0.25, &mut rng, &Device::Cpu).unwrap();
        let fresh = d.x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let frac = fresh.iter().filter(|v| **v >= 10.0).count() as f64 / 4000.0;
        // 3 standard errors of a binomial(4000, 0.25) fraction: 0.021.
        assert!((frac - 0.25).abs() < 0.021, "{frac}");
    }

    #[test]
    fn set_chains_changes_the_capacity_but_not_the_chain_shape() {
        let mut rng = rng::stream(4, "bank", 0);
        let mut bank = ChainBank::new(5, &[2], ChainInit::default(), &mut rng);
        let seven = Tensor::ones((7, 2), candle_core::DType::F32, &Device::Cpu).unwrap();
        bank.set_chains(&seven).unwrap();
        assert_eq!(bank.capacity(), 7);
        assert!(bank.draw(7, 0.0, &mut rng, &Device::Cpu).is_ok());
        let wrong = Tensor::ones((7, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
        assert!(bank.set_chains(&wrong).is_err());
        let empty = Tensor::ones((0, 2), candle_core::DType::F32, &Device::Cpu).unwrap();
        assert!(bank.set_chains(&empty).is_err());
    }

    #[test]
    fn chain_init_defaults_are_written_once() {
        let parsed: ChainInit = toml::from_str("kind = \"normal\"").unwrap();
        assert_eq!(parsed, ChainInit::default());
        assert_eq!(
            parsed,
            ChainInit::Normal {
                mean: 0.0,
                std: 1.0
            }
        );
        assert!(toml::from_str::<ChainInit>("kind = \"normal\"\nsd = 1.0").is_err());
    }

    #[test]
    fn bad_sizes_are_errors() {
        let mut rng = rng::stream(3, "bank", 0);
        let mut bank = ChainBank::new(5, &[2], ChainInit::default(), &mut rng);
        let e = bank.draw(6, 0.0, &mut rng, &Device::Cpu).err().unwrap();
        assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("cannot draw 6 chains from a bank of 5"),
            "{e}"
        );
        let e = bank.write_back(
            &[0, 1],
            &Tensor::zeros((3, 2), candle_core::DType::F32, &Device::Cpu).unwrap(),
        );
        assert!(matches!(e, Err(Error::Shape { .. })));
        let wrong = Tensor::zeros((4, 2), candle_core::DType::F32, &Device::Cpu).unwrap();
        assert!(bank.restore(&wrong).is_err());
        assert!(ChainInit::Uniform {
            low: 1.0,
            high: 1.0
        }
        .validate("k")
        .is_err());
    }
}
