//! The candle bridge (feature `nccl-candle`): [`CudaCollective`], a [`Collective`] whose
//! tensor-level methods run NCCL on candle CUDA tensors where they are, with no host round trip.
//!
//! One process per GPU. The communicator runs on candle's stream for the device
//! ([`candle_core::CudaDevice::cuda_stream`]), so an all-reduce is ordered after the kernels that
//! computed the gradients and before the optimizer's kernels with no extra synchronisation, and
//! cudarc's per-buffer events order it against any other stream.
//!
//! - Tensor methods (`all_reduce_*_tensor`, `broadcast_tensor`, `all_gather_flat_tensor`) on a
//!   CUDA f32 tensor of this device: NCCL reads the tensor's storage (through a view when the
//!   tensor is a contiguous slice of a larger buffer) and writes a fresh device buffer, which
//!   becomes the result tensor. Out of place because candle tensors are immutable: candle gives
//!   no `&mut` access to a tensor's storage outside the crate, so "in place" would mean writing
//!   under a shared borrow. The cost is one allocation of the bucket's size per call.
//!   A non-contiguous tensor is made contiguous first; a CPU tensor goes through the host path.
//! - Host-slice methods (the ones the trainer uses for the weight check, the chain exchange and
//!   checkpoints, all off the hot path): copied to the device, NCCL, copied back, and the stream
//!   is synchronised before returning.
//!
//! **Send + Sync.** [`Collective`] is `Send + Sync` (the trainer holds `Arc<dyn Collective>`),
//! but cudarc's `Comm` is neither, because it holds NCCL's raw `ncclComm_t`. The communicator
//! lives in a `Mutex<CommCell>` with `unsafe impl Send for CommCell`, sound because:
//! (1) NCCL communicators have no thread affinity — any host thread may call NCCL on a
//! communicator, NCCL only forbids *concurrent* calls on one communicator, and the mutex
//! serialises every call (drop included: it needs the last owner, hence exclusive access);
//! (2) the other fields of `Comm` (`Arc<CudaStream>`, integers) are `Send + Sync` already;
//! (3) each call first binds the device's CUDA context to the calling thread, so a call from a
//! thread other than the creator's works on the right device. `Sync` then comes from the mutex.
//! In practice a worker process calls it from one thread (the trainer's), so the lock is never
//! contended.
//!
//! **What was verified:** it compiles (`cargo check -p ebm-dist --features nccl-candle`, with
//! nvcc from shared/recipes/cuda-from-pypi.sh; see docs/gpu-build.md). Nothing here has run on a
//! GPU.

use std::sync::{Mutex, MutexGuard};

use candle_core::op::BackpropOp;
use candle_core::{CudaDevice, CudaStorage, DType, Device, Storage, Tensor};
use cudarc::driver::{CudaSlice, DriverError};

use crate::collective::{
    host_all_gather_flat_tensor, host_all_reduce_tensor, host_broadcast_tensor,
};
use crate::nccl::NcclCollective;
use crate::store::StoreClient;
use crate::{Collective, Error, Result};

fn driver_error(what: &str, e: DriverError) -> Error {
    Error::Nccl(format!("{what}: CUDA driver: {e}"))
}

/// The communicator, movable between threads (see the module docs for why this is sound).
struct CommCell(NcclCollective);

// SAFETY: an NCCL communicator may be used from any host thread as long as calls on it are not
// concurrent; `CudaCollective` only reaches it through a `Mutex`, and binds the device's context
// to the calling thread before each call. See the module docs.
unsafe impl Send for CommCell {}

/// One rank's NCCL communicator on a candle CUDA device: a [`Collective`] for the trainer.
pub struct CudaCollective {
    comm: Mutex<CommCell>,
    device: CudaDevice,
    rank: usize,
    world_size: usize,
}

impl std::fmt::Debug for CudaCollective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaCollective")
            .field("rank", &self.rank)
            .field("world_size", &self.world_size)
            .finish_non_exhaustive()
    }
}

impl CudaCollective {
    /// Rendezvous through the store (rank 0 creates NCCL's unique id and sets it under `key`),
    /// then joins the communicator on `device`'s candle stream. Blocks until every rank joined.
    pub fn from_store(
        store: &StoreClient,
        key: &str,
        device: &CudaDevice,
        rank: usize,
        world_size: usize,
    ) -> Result<Self> {
        let stream = device.cuda_stream();
        stream
            .context()
            .bind_to_thread()
            .map_err(|e| driver_error("binding the CUDA context", e))?;
        let comm = NcclCollective::from_store(store, key, stream, rank, world_size)?;
        Ok(CudaCollective {
            comm: Mutex::new(CommCell(comm)),
            device: device.clone(),
            rank,
            world_size,
        })
    }

    /// The candle device the collective works on.
    pub fn device(&self) -> &CudaDevice {
        &self.device
    }

    /// The communicator, locked, with the device's context current on this thread.
    fn comm(&self) -> Result<MutexGuard<'_, CommCell>> {
        let guard = self.comm.lock().map_err(|_| Error::GroupBroken {
            rank: self.rank,
            reason: "a previous NCCL call panicked".into(),
        })?;
        self.device
            .cuda_stream()
            .context()
            .bind_to_thread()
            .map_err(|e| driver_error("binding the CUDA context", e))?;
        Ok(guard)
    }

    fn is_ours(&self, t: &Tensor) -> bool {
        t.dtype() == DType::F32 && t.device().same_device(&Device::Cuda(self.device.clone()))
    }

    /// Runs `f` on `t`'s f32 device buffer (element range `start..end`), or returns `None` when
    /// `t` is not a contiguous f32 CUDA tensor of this device.
    fn with_slice<R>(
        &self,
        t: &Tensor,
        f: impl FnOnce(&CudaSlice<f32>, usize, usize) -> Result<R>,
    ) -> Result<Option<R>> {
        if !self.is_ours(t) {
            return Ok(None);
        }
        let (storage, layout) = t.storage_and_layout();
        let out = match (&*storage, layout.contiguous_offsets()) {
            (Storage::Cuda(cuda), Some((start, end))) => {
                Some(f(cuda.as_cuda_slice::<f32>()?, start, end)?)
            }
            _ => None,
        };
        Ok(out)
    }

    /// Wraps a device buffer as a tensor of `shape` on this device.
    fn tensor(&self, buf: CudaSlice<f32>, shape: &candle_core::Shape) -> Tensor {
        let storage = CudaStorage::wrap_cuda_slice(buf, self.device.clone());
        Tensor::from_storage(
            Storage::Cuda(storage),
            shape.clone(),
            BackpropOp::none(),
            false,
        )
    }

    fn alloc(&self, n: usize) -> Result<CudaSlice<f32>> {
        self.device
            .cuda_stream()
            .alloc_zeros::<f32>(n)
            .map_err(|e| driver_error("allocating a collective buffer", e))
    }

    /// A non-contiguous tensor of ours, made contiguous (a device copy); `None` otherwise.
    fn contiguous_copy(&self, t: &Tensor) -> Result<Option<Tensor>> {
        if self.is_ours(t) && !t.is_contiguous() {
            Ok(Some(t.contiguous()?))
        } else {
            Ok(None)
        }
    }

    fn reduce_tensor(&self, t: &Tensor, mean: bool) -> Result<Tensor> {
        if let Some(c) = self.contiguous_copy(t)? {
            return self.reduce_tensor(&c, mean);
        }
        let n = t.elem_count();
        if n == 0 || !self.is_ours(t) {
            // NCCL does not need a call for nothing, but every rank must take part in the same
            // collectives: the host path keeps the sequence identical (it reduces 0 elements).
            return host_all_reduce_tensor(self, t, mean);
        }
        let out = self.with_slice(t, |src, start, end| {
            let mut dst = self.alloc(n)?;
            let comm = self.comm()?;
            comm.0
                .all_reduce_into(&src.slice(start..end), &mut dst, mean)?;
            Ok(dst)
        })?;
        match out {
            Some(dst) => Ok(self.tensor(dst, t.shape())),
            None => host_all_reduce_tensor(self, t, mean),
        }
    }
}

impl Collective for CudaCollective {
    fn rank(&self) -> usize {
        self.rank
    }

    fn world_size(&self) -> usize {
        self.world_size
    }

    fn all_reduce_sum(&self, buf: &mut [f32]) -> Result<()> {
        if buf.is_empty() {
            return self.barrier();
        }
        let stream = self.device.cuda_stream();
        let comm = self.comm()?;
        let mut dev = stream
            .clone_htod(&*buf)
            .map_err(|e| driver_error("uploading the buffer", e))?;
        comm.0.all_reduce_sum(&mut dev)?;
        stream
            .memcpy_dtoh(&dev, buf)
            .and_then(|()| stream.synchronize())
            .map_err(|e| driver_error("downloading the reduced buffer", e))
    }

    fn broadcast(&self, buf: &mut [f32], root: usize) -> Result<()> {
        crate::collective::check_root(root, self.world_size)?;
        if buf.is_empty() {
            return self.barrier();
        }
        let stream = self.device.cuda_stream();
        let comm = self.comm()?;
        let mut dev = stream
            .clone_htod(&*buf)
            .map_err(|e| driver_error("uploading the buffer", e))?;
        comm.0.broadcast(&mut dev, root)?;
        stream
            .memcpy_dtoh(&dev, buf)
            .and_then(|()| stream.synchronize())
            .map_err(|e| driver_error("downloading the broadcast buffer", e))
    }

    fn all_gather(&self, local: &[f32]) -> Result<Vec<f32>> {
        let stream = self.device.cuda_stream();
        let comm = self.comm()?;
        // One spare element: CUDA does not allocate zero bytes; the view has `local`'s length.
        let mut dev = self.alloc(local.len().max(1))?;
        if !local.is_empty() {
            stream
                .memcpy_htod(local, &mut dev.slice_mut(0..local.len()))
                .map_err(|e| driver_error("uploading the shard", e))?;
        }
        let (all, lens) = comm.0.all_gather_varlen(&dev.slice(0..local.len()))?;
        let total: usize = lens.iter().sum();
        let mut out = vec![0f32; total];
        if total > 0 {
            stream
                .memcpy_dtoh(&all.slice(0..total), out.as_mut_slice())
                .map_err(|e| driver_error("downloading the gathered shards", e))?;
        }
        stream
            .synchronize()
            .map_err(|e| driver_error("waiting for the gather", e))?;
        Ok(out)
    }

    fn barrier(&self) -> Result<()> {
        self.comm()?.0.barrier()
    }

    fn all_reduce_sum_tensor(&self, t: &Tensor) -> Result<Tensor> {
        self.reduce_tensor(t, false)
    }

    /// NCCL's `ncclAvg`: the same result on every rank, but not the host backends' "sum, then
    /// divide" bits.
    fn all_reduce_mean_tensor(&self, t: &Tensor) -> Result<Tensor> {
        self.reduce_tensor(t, true)
    }

    fn broadcast_tensor(&self, t: &Tensor, root: usize) -> Result<Tensor> {
        if let Some(c) = self.contiguous_copy(t)? {
            return self.broadcast_tensor(&c, root);
        }
        let n = t.elem_count();
        if n == 0 {
            return host_broadcast_tensor(self, t, root);
        }
        let out = self.with_slice(t, |src, start, end| {
            let mut dst = self.alloc(n)?;
            let comm = self.comm()?;
            comm.0
                .broadcast_into(&src.slice(start..end), &mut dst, root)?;
            Ok(dst)
        })?;
        match out {
            Some(dst) => Ok(self.tensor(dst, t.shape())),
            None => host_broadcast_tensor(self, t, root),
        }
    }

    fn all_gather_flat_tensor(&self, local: &Tensor) -> Result<Tensor> {
        if let Some(c) = self.contiguous_copy(local)? {
            return self.all_gather_flat_tensor(&c);
        }
        let out = self.with_slice(local, |src, start, end| {
            let comm = self.comm()?;
            comm.0.all_gather_varlen(&src.slice(start..end))
        })?;
        match out {
            Some((all, lens)) => {
                let total: usize = lens.iter().sum();
                let gathered = self.tensor(all, &candle_core::Shape::from(total.max(1)));
                Ok(gathered.narrow(0, 0, total)?)
            }
            None => host_all_gather_flat_tensor(self, local),
        }
    }
}
