//! The `nccl` backend (feature `nccl`): one process per GPU, collectives on device buffers.
//!
//! A thin wrapper over `cudarc::nccl::safe::Comm` (cudarc 0.19, the version candle 0.11.1 uses),
//! working on `cudarc::driver::CudaSlice<f32>`, plus the rendezvous that carries NCCL's 128-byte
//! unique id through the [`StoreClient`]: rank 0 calls `Id::new()` and sets the id's bytes under
//! a key, the other ranks `get` them and rebuild it with `Id::uninit`.
//!
//! **What was verified:** this module compiles and passes clippy on a machine with no GPU and no
//! CUDA toolkit (`cargo clippy -p ebm-dist --features nccl`): cudarc is built as candle builds it
//! (`dynamic-linking`, CUDA version from nvcc) plus `fallback-latest`, so without nvcc it uses
//! cudarc's newest CUDA API and needs no headers; `check`/`clippy` link nothing. Test binaries
//! link `libcuda`/`libnccl`, so the unique id's byte round trip test runs only where those exist.
//! **What was not:** no communicator was ever created — no GPU was available; the logic is the
//! documented NCCL usage (one communicator per rank from a shared unique id, in-place or
//! out-of-place all-reduce / broadcast, all-gather into a `world_size × len` buffer).
//!
//! **Sharing cudarc with candle.** cudarc 0.19.10 is the version candle-core 0.11.1 depends on, so
//! one copy serves both, and feature `nccl` picks the same link mode as candle (cudarc refuses
//! `dynamic-loading` together with candle's `dynamic-linking`), so `nccl` and candle's
//! `cuda`/`nccl` can be on in one build: that is feature `nccl-candle` (`crate::nccl_candle`,
//! needs nvcc, see docs/gpu-build.md).
//!
//! `NcclCollective` itself does not implement [`crate::Collective`]: that trait requires
//! `Send + Sync`, while cudarc's `Comm` is neither. `nccl_candle::CudaCollective` wraps it (behind
//! a mutex, with the soundness argument there) and implements the trait on candle tensors.
//!
//! Operations are enqueued on the communicator's stream and return before they finish, like any
//! CUDA work on that stream; [`NcclCollective::barrier`] also waits for the stream.

use std::ffi::c_char;
use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaSlice, CudaStream, DevicePtr, DriverError};
use cudarc::nccl::result::NcclError;
use cudarc::nccl::safe::{Comm, Id, ReduceOp};

use crate::collective::check_root;
use crate::store::StoreClient;
use crate::{Error, Result};

/// Checks a root and converts it to NCCL's `i32`.
fn nccl_root(root: usize, world_size: usize) -> Result<i32> {
    check_root(root, world_size)?;
    i32::try_from(root)
        .map_err(|_| Error::InvalidArgument(format!("root {root} does not fit NCCL's i32")))
}

/// Size of an NCCL unique id in bytes.
pub const ID_BYTES: usize = 128;

fn nccl_error(what: &str, e: NcclError) -> Error {
    Error::Nccl(format!("{what}: {:?}", e.0))
}

fn driver_error(what: &str, e: DriverError) -> Error {
    Error::Nccl(format!("{what}: CUDA driver: {e}"))
}

/// Number of GPUs the CUDA driver sees; 0 when there is no driver library (cudarc's dynamic
/// loading panics on a missing library, which this turns into "no GPU").
pub fn device_count() -> usize {
    std::panic::catch_unwind(CudaContext::device_count)
        .ok()
        .and_then(|count| count.ok())
        .map_or(0, |n| usize::try_from(n).unwrap_or(0))
}

/// The bytes of `id`, for sending through the store.
pub fn id_to_bytes(id: &Id) -> Vec<u8> {
    id.internal().iter().map(|&c| c as u8).collect()
}

/// Rebuilds an id from [`id_to_bytes`] output.
pub fn id_from_bytes(bytes: &[u8]) -> Result<Id> {
    if bytes.len() != ID_BYTES {
        return Err(Error::InvalidArgument(format!(
            "an NCCL unique id has {ID_BYTES} bytes, got {}",
            bytes.len()
        )));
    }
    let mut internal = [0 as c_char; ID_BYTES];
    internal
        .iter_mut()
        .zip(bytes)
        .for_each(|(d, &b)| *d = b as c_char);
    Ok(Id::uninit(internal))
}

/// One rank's NCCL communicator.
#[derive(Debug)]
pub struct NcclCollective {
    comm: Comm,
}

impl NcclCollective {
    /// Joins the communicator of `world_size` ranks identified by `id`, working on `stream`.
    /// Blocks until every rank has joined.
    pub fn new(stream: Arc<CudaStream>, rank: usize, world_size: usize, id: Id) -> Result<Self> {
        if rank >= world_size {
            return Err(Error::InvalidArgument(format!(
                "rank {rank} is not in a world of size {world_size}"
            )));
        }
        let comm = Comm::from_rank(stream, rank, world_size, id)
            .map_err(|e| nccl_error("creating the communicator", e))?;
        Ok(NcclCollective { comm })
    }

    /// Rendezvous through the store: rank 0 creates the unique id and sets it under `key`; the
    /// others wait for it (up to the store client's timeout). Then joins as [`NcclCollective::new`].
    pub fn from_store(
        store: &StoreClient,
        key: &str,
        stream: Arc<CudaStream>,
        rank: usize,
        world_size: usize,
    ) -> Result<Self> {
        let id = if rank == 0 {
            let id = Id::new().map_err(|e| nccl_error("creating the unique id", e))?;
            store.set(key, &id_to_bytes(&id))?;
            id
        } else {
            id_from_bytes(&store.get(key)?)?
        };
        Self::new(stream, rank, world_size, id)
    }

    /// [`NcclCollective::from_store`] on the default stream of GPU `ordinal` (a worker's
    /// `LOCAL_RANK`).
    pub fn from_store_on_device(
        store: &StoreClient,
        key: &str,
        ordinal: usize,
        rank: usize,
        world_size: usize,
    ) -> Result<Self> {
        let ctx = CudaContext::new(ordinal)
            .map_err(|e| driver_error(&format!("opening GPU {ordinal}"), e))?;
        Self::from_store(store, key, ctx.default_stream(), rank, world_size)
    }

    pub fn rank(&self) -> usize {
        self.comm.rank()
    }

    pub fn world_size(&self) -> usize {
        self.comm.world_size()
    }

    /// The stream the collectives run on.
    pub fn stream(&self) -> Arc<CudaStream> {
        self.comm.stream()
    }

    /// In-place element-wise sum over ranks.
    pub fn all_reduce_sum(&self, buf: &mut CudaSlice<f32>) -> Result<()> {
        self.comm
            .all_reduce_in_place(buf, &ReduceOp::Sum)
            .map_err(|e| nccl_error("all_reduce_sum", e))?;
        Ok(())
    }

    /// In-place element-wise mean over ranks (NCCL's `ncclAvg`, NCCL ≥ 2.10).
    pub fn all_reduce_mean(&self, buf: &mut CudaSlice<f32>) -> Result<()> {
        self.comm
            .all_reduce_in_place(buf, &ReduceOp::Avg)
            .map_err(|e| nccl_error("all_reduce_mean", e))?;
        Ok(())
    }

    /// Element-wise sum (`mean == false`) or mean over ranks of `src`, written to `dst` (same
    /// length): the out-of-place form, for a source that cannot be borrowed mutably (a candle
    /// tensor's storage, a view into it).
    pub fn all_reduce_into<S: DevicePtr<f32>>(
        &self,
        src: &S,
        dst: &mut CudaSlice<f32>,
        mean: bool,
    ) -> Result<()> {
        if src.len() != dst.len() {
            return Err(Error::InvalidArgument(format!(
                "all_reduce of {} elements into {}",
                src.len(),
                dst.len()
            )));
        }
        let op = if mean { ReduceOp::Avg } else { ReduceOp::Sum };
        self.comm
            .all_reduce(src, dst, &op)
            .map_err(|e| nccl_error("all_reduce", e))?;
        Ok(())
    }

    /// Overwrites `buf` on every rank with `root`'s `buf`.
    pub fn broadcast(&self, buf: &mut CudaSlice<f32>, root: usize) -> Result<()> {
        let root = nccl_root(root, self.world_size())?;
        self.comm
            .broadcast_in_place(buf, root)
            .map_err(|e| nccl_error("broadcast", e))?;
        Ok(())
    }

    /// `root`'s `src` written to `dst` on every rank (out of place; `src` is read on `root`
    /// only, and must have `dst`'s length).
    pub fn broadcast_into<S: DevicePtr<f32>>(
        &self,
        src: &S,
        dst: &mut CudaSlice<f32>,
        root: usize,
    ) -> Result<()> {
        let root = nccl_root(root, self.world_size())?;
        if src.len() != dst.len() {
            return Err(Error::InvalidArgument(format!(
                "broadcast of {} elements into {}",
                src.len(),
                dst.len()
            )));
        }
        self.comm
            .broadcast(Some(src), dst, root)
            .map_err(|e| nccl_error("broadcast", e))?;
        Ok(())
    }

    /// Gathers equal-length shards in rank order into `out` (`world_size × local.len()`).
    pub fn all_gather(&self, local: &CudaSlice<f32>, out: &mut CudaSlice<f32>) -> Result<()> {
        let want = local.len() * self.world_size();
        if out.len() != want {
            return Err(Error::InvalidArgument(format!(
                "all_gather output has {} elements, needs {want}",
                out.len()
            )));
        }
        self.comm
            .all_gather(local, out)
            .map_err(|e| nccl_error("all_gather", e))?;
        Ok(())
    }

    /// Gathers shards of possibly different lengths, in rank order: exchanges the lengths, pads
    /// every shard to the longest, gathers, and compacts on the device. Returns the buffer, whose
    /// first `lens.iter().sum()` elements are the concatenation (it has one element when every
    /// shard is empty: CUDA does not allocate zero bytes), and every rank's shard length `lens`.
    pub fn all_gather_varlen<S: DevicePtr<f32>>(
        &self,
        local: &S,
    ) -> Result<(CudaSlice<f32>, Vec<usize>)> {
        let stream = self.stream();
        let world = self.world_size();
        let mine = stream
            .clone_htod(&[local.len() as u64])
            .map_err(|e| driver_error("uploading the shard length", e))?;
        let mut lens = stream
            .alloc_zeros::<u64>(world)
            .map_err(|e| driver_error("allocating shard lengths", e))?;
        self.comm
            .all_gather(&mine, &mut lens)
            .map_err(|e| nccl_error("all_gather of shard lengths", e))?;
        let lens: Vec<usize> = stream
            .clone_dtoh(&lens)
            .and_then(|l| stream.synchronize().map(|()| l))
            .map_err(|e| driver_error("downloading shard lengths", e))?
            .into_iter()
            .map(|l| l as usize)
            .collect();
        let longest = lens.iter().copied().max().unwrap_or(0);
        let total: usize = lens.iter().sum();
        // Zero-length allocations are avoided: one spare element costs nothing.
        let mut padded = stream
            .alloc_zeros::<f32>(longest.max(1))
            .map_err(|e| driver_error("allocating the padded shard", e))?;
        if local.len() > 0 {
            stream
                .memcpy_dtod(local, &mut padded.slice_mut(0..local.len()))
                .map_err(|e| driver_error("padding the shard", e))?;
        }
        let mut all = stream
            .alloc_zeros::<f32>(longest.max(1) * world)
            .map_err(|e| driver_error("allocating the gather buffer", e))?;
        self.comm
            .all_gather(&padded, &mut all)
            .map_err(|e| nccl_error("all_gather of shards", e))?;
        let mut out = stream
            .alloc_zeros::<f32>(total.max(1))
            .map_err(|e| driver_error("allocating the output", e))?;
        let mut offset = 0;
        for (rank, &len) in lens.iter().enumerate() {
            if len > 0 {
                let start = rank * longest.max(1);
                stream
                    .memcpy_dtod(
                        &all.slice(start..start + len),
                        &mut out.slice_mut(offset..offset + len),
                    )
                    .map_err(|e| driver_error("compacting the gathered shards", e))?;
            }
            offset += len;
        }
        Ok((out, lens))
    }

    /// Returns once every rank has reached the barrier and this rank's stream is idle.
    pub fn barrier(&self) -> Result<()> {
        let stream = self.stream();
        let mut token = stream
            .alloc_zeros::<f32>(1)
            .map_err(|e| driver_error("allocating the barrier token", e))?;
        self.all_reduce_sum(&mut token)?;
        stream
            .synchronize()
            .map_err(|e| driver_error("waiting for the barrier", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Id::uninit / Id::internal touch no CUDA library, so this runs without a GPU.
    #[test]
    fn unique_id_bytes_round_trip() {
        let bytes: Vec<u8> = (0..ID_BYTES).map(|i| (i * 37 % 256) as u8).collect();
        let id = id_from_bytes(&bytes).unwrap();
        assert_eq!(id_to_bytes(&id), bytes);
        assert!(matches!(
            id_from_bytes(&bytes[1..]),
            Err(Error::InvalidArgument(_))
        ));
    }
}
