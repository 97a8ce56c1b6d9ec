//! The device a GPU rank trains on (feature `cuda`). Everything else trains on `Device::Cpu`.

use candle_core::Device;

use crate::Result;

/// The CUDA device of a GPU worker: GPU `ordinal` (the worker's `LOCAL_RANK`) as candle sees it,
/// for [`crate::Trainer::new_distributed_on`]. Fails when the driver or the GPU is missing.
pub fn cuda_device(ordinal: usize) -> Result<Device> {
    Ok(Device::new_cuda(ordinal)?)
}
