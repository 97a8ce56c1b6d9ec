//! Raw reads of candle CPU tensors: a fast path borrows a tensor's contiguous data as a slice
//! (no copy) under the storage's read lock, and falls back to candle's ops when the tensor is
//! elsewhere (another device, a strided layout, another dtype).

use candle_core::{Layout, Storage, StorageRef, Tensor, WithDType};

/// A tensor's storage held under its read lock, so slices of it can be borrowed for as long as
/// this lives (several at once: a network's weights).
pub struct CpuRead<'t> {
    storage: StorageRef<'t>,
    layout: &'t Layout,
}

impl<'t> CpuRead<'t> {
    /// Locks `t`'s storage for reading.
    pub fn new(t: &'t Tensor) -> Self {
        let (storage, layout) = t.storage_and_layout();
        CpuRead { storage, layout }
    }

    /// The tensor's elements as a contiguous slice of `T`, or `None` when it is not a contiguous
    /// CPU tensor of dtype `T`.
    pub fn slice<T: WithDType>(&self) -> Option<&[T]> {
        let (Storage::Cpu(cpu), Some((start, end))) =
            (&*self.storage, self.layout.contiguous_offsets())
        else {
            return None;
        };
        // `as_slice` fails only for another dtype: that is a `None` here, not an error.
        Some(&cpu.as_slice::<T>().ok()?[start..end])
    }
}

/// `f` on `t`'s contiguous CPU data of element type `T`, or `None` (without calling `f`) when
/// `t` is not a contiguous CPU tensor of dtype `T`.
pub fn with_cpu_slice<T: WithDType, R>(t: &Tensor, f: impl FnOnce(&[T]) -> R) -> Option<R> {
    if t.dtype() != T::DTYPE {
        return None;
    }
    CpuRead::new(t).slice().map(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    #[test]
    fn contiguous_cpu_tensors_are_read_in_place() {
        let t = Tensor::arange(0f32, 6.0, &Device::Cpu)
            .and_then(|t| t.reshape((2, 3)))
            .expect("t");
        let sum = with_cpu_slice::<f32, _>(&t, |s| s.iter().sum::<f32>());
        assert_eq!(sum, Some(15.0));
        // a contiguous narrow reads from its offset
        let row = t.narrow(0, 1, 1).expect("row");
        assert_eq!(
            with_cpu_slice::<f32, _>(&row, <[f32]>::to_vec),
            Some(vec![3.0, 4.0, 5.0])
        );
    }

    #[test]
    fn other_dtypes_and_layouts_are_none() {
        let t = Tensor::zeros((2, 3), DType::F32, &Device::Cpu).expect("t");
        assert!(with_cpu_slice::<f64, _>(&t, |_| ()).is_none());
        assert!(CpuRead::new(&t).slice::<f64>().is_none());
        let strided = t.t().expect("t");
        assert!(with_cpu_slice::<f32, _>(&strided, |_| ()).is_none());
    }
}
