//! Bytes through f32 collectives. The `Collective` trait moves `f32` only (what gradients and
//! chains are); the few non-float things ranks share — a checkpoint file, RNG positions, the eval
//! report — travel one byte per `f32` (integers below 2²⁴ are exact in f32). They are small and
//! rare (checkpoint and start-up only), so the 4× size does not matter.

use crate::{Error, Result};
use ebm_dist::Collective;

/// A length as four 16-bit pieces, each exact in f32.
fn encode_len(n: usize) -> [f32; 4] {
    let n = n as u64;
    std::array::from_fn(|i| ((n >> (16 * i)) & 0xffff) as f32)
}

fn decode_len(words: &[f32]) -> usize {
    words
        .iter()
        .enumerate()
        .map(|(i, &w)| (w as u64) << (16 * i))
        .sum::<u64>() as usize
}

fn to_words(bytes: &[u8]) -> Vec<f32> {
    bytes.iter().map(|&b| f32::from(b)).collect()
}

fn to_bytes(words: &[f32]) -> Vec<u8> {
    // Every word came from a byte, so the cast is exact.
    words.iter().map(|&w| w as u8).collect()
}

/// `root`'s `bytes` on every rank (other ranks' `bytes` are ignored).
pub(crate) fn broadcast_bytes(coll: &dyn Collective, bytes: &[u8], root: usize) -> Result<Vec<u8>> {
    let mut len = encode_len(bytes.len());
    coll.broadcast(&mut len, root)?;
    let mut words = if coll.rank() == root {
        to_words(bytes)
    } else {
        vec![0.0; decode_len(&len)]
    };
    coll.broadcast(&mut words, root)?;
    Ok(to_bytes(&words))
}

/// Every rank's `local`, in rank order.
pub(crate) fn all_gather_bytes(coll: &dyn Collective, local: &[u8]) -> Result<Vec<Vec<u8>>> {
    let lens = coll.all_gather(&encode_len(local.len()))?;
    let words = coll.all_gather(&to_words(local))?;
    let mut out = Vec::with_capacity(coll.world_size());
    let mut at = 0;
    for piece in lens.chunks_exact(4) {
        let n = decode_len(piece);
        let part = words.get(at..at + n).ok_or_else(|| {
            Error::Dist(ebm_dist::Error::Mismatch {
                rank: coll.rank(),
                message: format!(
                    "gathered {} bytes, fewer than the lengths announced",
                    words.len()
                ),
            })
        })?;
        out.push(to_bytes(part));
        at += n;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip() {
        for n in [0usize, 1, 65_535, 65_536, 123_456_789] {
            assert_eq!(decode_len(&encode_len(n)), n);
        }
    }

    #[test]
    fn bytes_round_trip_through_a_group() {
        let handles = ebm_dist::LocalGroup::new(3);
        let threads: Vec<_> = handles
            .into_iter()
            .map(|c| {
                std::thread::spawn(move || {
                    let mine = vec![c.rank() as u8 * 100; c.rank() + 1];
                    let all = all_gather_bytes(&c, &mine).unwrap();
                    let b = broadcast_bytes(&c, &[255, 0, 7], 2).unwrap();
                    (all, b)
                })
            })
            .collect();
        for t in threads {
            let (all, b) = t.join().unwrap();
            assert_eq!(all, vec![vec![0], vec![100, 100], vec![200, 200, 200]]);
            assert_eq!(b, vec![255, 0, 7]);
        }
    }
}
