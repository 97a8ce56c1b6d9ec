//! Communication layer for data-parallel training of energy-based models: one model replica per
//! rank, gradients averaged across ranks, chain-bank shards gathered.
//!
//! - [`Collective`]: the small, object-safe trait the trainer uses (`all_reduce_sum/mean`,
//!   `broadcast`, `all_gather`, `barrier` on host `f32` slices, and the same on f32 tensors with
//!   host-slice defaults that a device backend overrides), with [`SingleRank`] for one rank.
//! - [`local`]: ranks as threads of one process (CI, laptops).
//! - [`tcp`]: one CPU worker process per rank, collectives through the rendezvous store
//!   ([`TcpCollective`], same rank-order bits as the local backend).
//! - `nccl` (feature `nccl`): one process per GPU over NCCL, via cudarc (compiled, not run here).
//! - `nccl_candle` (feature `nccl-candle`): `CudaCollective`, the
//!   NCCL backend as a [`Collective`] on candle CUDA tensors (compiled, not run here).
//! - [`store`]: the TCP rendezvous store the launcher uses to share the NCCL id and check that
//!   every rank resolved the same config.
//! - [`tensors`]: the same collectives over lists of candle tensors, in one flat bucket.
//!
//! # Design decisions
//!
//! **Rank-order summation.** Float addition is not associative, so a reduction that adds
//! contributions in arrival order gives results that depend on thread timing and may differ
//! between ranks — and ranks whose parameters differ by one ulp drift apart over training. The
//! local backend adds contributions in rank order 0..N, whoever arrives last, and hands every
//! rank the very same result: runs are reproducible, ranks stay bit-identical, and a test can
//! compare against a sequential reference exactly. (NCCL promises no fixed order across
//! topologies; its ring and tree all-reduces do hand every rank the same result in practice.)
//!
//! **Flat buckets.** A model has many small parameter tensors. One collective per tensor costs
//! one synchronisation each; flattening them into one buffer costs one for all, which is what
//! DDP's gradient buckets do. [`tensors::all_reduce_mean_tensors`] packs, reduces once, and splits
//! back with the original shapes.
//!
//! **Failure is an error, never a hang.** A rank that leaves (or panics) breaks its group and the
//! others get [`Error::GroupBroken`]; every wait has a timeout.
//!
//! ```
//! use ebm_dist::{Collective, LocalGroup};
//!
//! let handles = LocalGroup::new(2);
//! let threads: Vec<_> = handles
//!     .into_iter()
//!     .map(|c| {
//!         std::thread::spawn(move || {
//!             let mut grad = vec![c.rank() as f32 + 1.0; 3];
//!             c.all_reduce_mean(&mut grad).unwrap();
//!             grad
//!         })
//!     })
//!     .collect();
//! for t in threads {
//!     assert_eq!(t.join().unwrap(), vec![1.5; 3]);
//! }
//! ```

mod collective;
mod error;
pub mod local;
#[cfg(feature = "nccl-core")]
pub mod nccl;
#[cfg(feature = "nccl-candle")]
pub mod nccl_candle;
pub mod store;
pub mod tcp;
pub mod tensors;

pub use collective::{
    host_all_gather_flat_tensor, host_all_reduce_tensor, host_broadcast_tensor, Collective,
    SingleRank,
};
pub use error::{Error, Result};
pub use local::{LocalCollective, LocalGroup};
#[cfg(feature = "nccl-candle")]
pub use nccl_candle::CudaCollective;
pub use store::{StoreClient, StoreServer};
pub use tcp::TcpCollective;
pub use tensors::{
    all_gather_tensor, all_reduce_mean_tensors, all_reduce_sum_tensors, broadcast_tensors,
};
