//! The invariant of data-parallel training: every rank holds bit-identical weights (same initial
//! broadcast, same averaged gradients, same optimizer step). A bug that breaks it — a rank that
//! skips a reduction, a non-deterministic op — lets ranks drift apart silently, so every
//! `dist.check_every` steps the ranks all-gather a checksum of their weights and compare.

use crate::{Error, Result};
use candle_core::DType;
use ebm_core::Param;
use ebm_dist::Collective;

/// FNV-1a over the bits of every parameter (as f64, which is exact for f32 weights).
fn checksum(params: &[Param]) -> Result<u64> {
    let mut h = 0xcbf29ce484222325u64;
    for p in params {
        let values = p
            .var
            .as_tensor()
            .flatten_all()?
            .to_dtype(DType::F64)?
            .to_vec1::<f64>()?;
        for b in values.iter().flat_map(|v| v.to_bits().to_le_bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
        }
    }
    Ok(h)
}

/// Errors on every rank if any rank's weights differ from rank 0's.
pub(crate) fn weights_identical(coll: &dyn Collective, params: &[Param], step: u64) -> Result<()> {
    let h = checksum(params)?;
    // 16-bit pieces are exact in f32.
    let words: [f32; 4] = std::array::from_fn(|i| ((h >> (16 * i)) & 0xffff) as f32);
    let all = coll.all_gather(&words)?;
    let differ: Vec<usize> = all
        .chunks_exact(4)
        .enumerate()
        .filter(|(_, w)| *w != &all[..4])
        .map(|(r, _)| r)
        .collect();
    if differ.is_empty() {
        Ok(())
    } else {
        Err(Error::RanksDiverged {
            step,
            message: format!("the weights of ranks {differ:?} differ from rank 0's"),
        })
    }
}
