//! Seeded randomness. candle's CPU RNG cannot be seeded, so every random number in ebm (noise,
//! initial weights, data, chain re-initialisation) comes from a ChaCha8 stream derived from the run
//! seed and a purpose name. Streams are independent, and their position can be saved and restored
//! exactly, which is what makes resumed runs bit-identical.

use crate::{Error, Result};
use candle_core::{Device, Tensor};
use rand::{Rng as _, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

/// The generator used everywhere in ebm.
pub type Rng = rand_chacha::ChaCha8Rng;

/// One independent stream per (seed, purpose, rank). The purpose name is hashed (FNV-1a, stable
/// across platforms and Rust versions, unlike `DefaultHasher`) into the ChaCha stream id.
pub fn stream(seed: u64, purpose: &str, rank: u32) -> Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..12].copy_from_slice(&rank.to_le_bytes());
    let mut rng = Rng::from_seed(key);
    rng.set_stream(fnv1a(purpose.as_bytes()));
    rng
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// Exact position of a stream: restoring it continues with the same numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RngState {
    pub seed: [u8; 32],
    pub stream: u64,
    pub word_pos: u128,
}

impl RngState {
    pub fn of(rng: &Rng) -> Self {
        RngState {
            seed: rng.get_seed(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos(),
        }
    }

    pub fn to_rng(&self) -> Rng {
        let mut rng = Rng::from_seed(self.seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(self.word_pos);
        rng
    }

    /// Text form `seedhex:stream:word_pos`, for checkpoint metadata.
    pub fn encode(&self) -> String {
        let hex: String = self.seed.iter().map(|b| format!("{b:02x}")).collect();
        format!("{hex}:{}:{}", self.stream, self.word_pos)
    }

    pub fn decode(text: &str) -> Result<Self> {
        let bad = |m: &str| Error::State {
            what: "rng state".into(),
            message: format!("{m} in `{text}`"),
        };
        let mut parts = text.split(':');
        let (Some(hex), Some(stream), Some(pos), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected seed:stream:word_pos"));
        };
        if hex.len() != 64 || !hex.is_ascii() {
            return Err(bad("seed must be 64 hex digits"));
        }
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad("bad hex"))?;
        }
        Ok(RngState {
            seed,
            stream: stream.parse().map_err(|_| bad("bad stream"))?,
            word_pos: pos.parse().map_err(|_| bad("bad word position"))?,
        })
    }
}

/// Fills a vector with standard normal f32 draws.
pub fn normal_vec(rng: &mut Rng, n: usize) -> Vec<f32> {
    let mut v = vec![0f32; n];
    fill_normal(rng, &mut v);
    v
}

/// Overwrites `out` with standard normal f32 draws, into a buffer the caller reuses. The draws
/// are [`normal_vec`]'s (and [`randn`]'s), value for value and in order, so seeded runs and
/// resumed checkpoints do not depend on which of them a sampler calls. rand_distr's ziggurat
/// costs a few ns per draw (profiled: ~1 % of a Langevin step on the anchor MLP), so it is kept
/// rather than traded for a vectorised Box–Muller that would change every seeded result.
pub fn fill_normal(rng: &mut Rng, out: &mut [f32]) {
    for v in out {
        *v = StandardNormal.sample(rng);
    }
}

/// `out[i] += scale · εᵢ` with the draws of [`fill_normal`] (no buffer at all).
pub fn add_scaled_normal(rng: &mut Rng, scale: f32, out: &mut [f32]) {
    for v in out {
        let e: f32 = StandardNormal.sample(rng);
        *v += e * scale;
    }
}

/// A tensor of i.i.d. N(0, 1) values from our generator (never candle's unseeded `randn`).
pub fn randn(rng: &mut Rng, shape: &[usize], device: &Device) -> Result<Tensor> {
    let n = shape.iter().product();
    Ok(Tensor::from_vec(normal_vec(rng, n), shape, device)?)
}

/// A tensor of i.i.d. U(low, high) values from our generator.
pub fn rand_uniform(
    rng: &mut Rng,
    shape: &[usize],
    low: f32,
    high: f32,
    device: &Device,
) -> Result<Tensor> {
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(low..high)).collect();
    Ok(Tensor::from_vec(v, shape, device)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u32> = (0..4).map(|_| stream(7, "noise", 0).next_u32()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut x = stream(7, "noise", 0);
        let mut y = stream(7, "data", 0);
        let mut z = stream(7, "noise", 1);
        let xs: Vec<u32> = (0..8).map(|_| x.next_u32()).collect();
        let ys: Vec<u32> = (0..8).map(|_| y.next_u32()).collect();
        let zs: Vec<u32> = (0..8).map(|_| z.next_u32()).collect();
        assert_ne!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn state_round_trip_continues_the_stream() {
        let mut rng = stream(3, "x", 0);
        let _ = normal_vec(&mut rng, 17);
        let saved = RngState::decode(&RngState::of(&rng).encode()).unwrap();
        let expected = normal_vec(&mut rng, 9);
        let mut restored = saved.to_rng();
        assert_eq!(normal_vec(&mut restored, 9), expected);
    }

    #[test]
    fn fill_normal_and_add_scaled_normal_draw_what_normal_vec_draws() {
        let want = normal_vec(&mut stream(5, "n", 0), 33);
        let mut got = vec![7f32; 33];
        fill_normal(&mut stream(5, "n", 0), &mut got);
        assert_eq!(got, want);
        let mut added = vec![1f32; 33];
        let mut rng = stream(5, "n", 0);
        add_scaled_normal(&mut rng, 0.5, &mut added);
        let expected: Vec<f32> = want.iter().map(|e| 1.0 + e * 0.5).collect();
        assert_eq!(added, expected);
        // The stream ends where normal_vec leaves it, so checkpoints stay exact.
        let mut after = stream(5, "n", 0);
        let _ = normal_vec(&mut after, 33);
        assert_eq!(RngState::of(&rng), RngState::of(&after));
    }

    #[test]
    fn decode_rejects_garbage() {
        assert!(RngState::decode("nope").is_err());
        assert!(RngState::decode(&format!("{}:1:2", "zz".repeat(32))).is_err());
    }
}
