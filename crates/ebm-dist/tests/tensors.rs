//! Tensor conveniences: one flat bucket in, the original shapes and dtype out.

use candle_core::{DType, Device, Tensor};
use ebm_dist::{
    all_gather_tensor, all_reduce_mean_tensors, all_reduce_sum_tensors, broadcast_tensors,
    Collective, Error, LocalGroup, SingleRank,
};

fn params(rank: usize) -> Vec<Tensor> {
    let r = rank as f32;
    let dev = Device::Cpu;
    vec![
        Tensor::new(&[[r, 1.0, 2.0], [3.0, 4.0, r]], &dev).unwrap(),
        Tensor::new(&[r * 10.0; 4], &dev).unwrap(),
        Tensor::new(r + 0.5, &dev).unwrap(),
    ]
}

fn run<T: Send + 'static>(
    n: usize,
    f: impl Fn(&dyn Collective) -> T + Send + Sync + Copy + 'static,
) -> Vec<T> {
    let threads: Vec<_> = LocalGroup::new(n)
        .into_iter()
        .map(|c| std::thread::spawn(move || f(&c)))
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn mean_of_a_tensor_list_keeps_shapes_and_averages() {
    let out = run(2, |c| {
        all_reduce_mean_tensors(c, &params(c.rank())).unwrap()
    });
    for reduced in out {
        assert_eq!(reduced.len(), 3);
        assert_eq!(reduced[0].dims(), &[2, 3]);
        assert_eq!(reduced[1].dims(), &[4]);
        assert_eq!(reduced[2].dims(), &[] as &[usize]);
        assert_eq!(reduced[0].dtype(), DType::F32);
        assert_eq!(
            reduced[0].to_vec2::<f32>().unwrap(),
            vec![vec![0.5, 1.0, 2.0], vec![3.0, 4.0, 0.5]]
        );
        assert_eq!(reduced[1].to_vec1::<f32>().unwrap(), vec![5.0; 4]);
        assert_eq!(reduced[2].to_scalar::<f32>().unwrap(), 1.0);
    }
}

#[test]
fn sum_and_broadcast_of_a_tensor_list() {
    let out = run(3, |c| {
        let p = params(c.rank());
        let sum = all_reduce_sum_tensors(c, &p).unwrap();
        let bcast = broadcast_tensors(c, &p, 2).unwrap();
        (
            sum[1].to_vec1::<f32>().unwrap(),
            bcast[0].to_vec2::<f32>().unwrap(),
        )
    });
    for (sum, bcast) in out {
        assert_eq!(sum, vec![30.0; 4]);
        assert_eq!(bcast, vec![vec![2.0, 1.0, 2.0], vec![3.0, 4.0, 2.0]]);
    }
}

#[test]
fn other_dtypes_are_rejected_with_their_index() {
    let ts = vec![
        Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap(),
        Tensor::zeros(3, DType::F64, &Device::Cpu).unwrap(),
    ];
    let err = all_reduce_mean_tensors(&SingleRank, &ts).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Dtype {
                index: 1,
                dtype: DType::F64
            }
        ),
        "{err}"
    );
}

#[test]
fn gathering_chain_shards_of_unequal_rows() {
    // Rank r holds r + 1 chains of dimension 2.
    let out = run(3, |c| {
        let r = c.rank();
        let rows: Vec<f32> = (0..(r + 1) * 2).map(|i| (r * 100 + i) as f32).collect();
        let local = Tensor::from_vec(rows, (r + 1, 2), &Device::Cpu).unwrap();
        all_gather_tensor(c, &local)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap()
    });
    let want = vec![
        vec![0.0, 1.0],
        vec![100.0, 101.0],
        vec![102.0, 103.0],
        vec![200.0, 201.0],
        vec![202.0, 203.0],
        vec![204.0, 205.0],
    ];
    for got in out {
        assert_eq!(got, want);
    }
}

/// A backend that overrides the tensor-level methods (as the NCCL one does) and refuses the
/// host-slice path: the bucket helpers must hand it the whole bucket as one tensor, once.
#[derive(Default)]
struct DeviceSide {
    tensor_calls: std::sync::atomic::AtomicUsize,
}

impl Collective for DeviceSide {
    fn rank(&self) -> usize {
        0
    }
    fn world_size(&self) -> usize {
        2
    }
    fn all_reduce_sum(&self, _: &mut [f32]) -> ebm_dist::Result<()> {
        panic!("the host path must not be used")
    }
    fn broadcast(&self, _: &mut [f32], _: usize) -> ebm_dist::Result<()> {
        panic!("the host path must not be used")
    }
    fn all_gather(&self, _: &[f32]) -> ebm_dist::Result<Vec<f32>> {
        panic!("the host path must not be used")
    }
    fn barrier(&self) -> ebm_dist::Result<()> {
        Ok(())
    }
    fn all_reduce_mean_tensor(&self, t: &Tensor) -> ebm_dist::Result<Tensor> {
        self.tensor_calls
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(t.dims(), &[6 + 4 + 1]);
        Ok((t * 0.5)?)
    }
    fn broadcast_tensor(&self, t: &Tensor, _root: usize) -> ebm_dist::Result<Tensor> {
        self.tensor_calls
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(t.clone())
    }
    fn all_gather_flat_tensor(&self, local: &Tensor) -> ebm_dist::Result<Tensor> {
        self.tensor_calls
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Tensor::cat(
            &[local.flatten_all()?, local.flatten_all()?],
            0,
        )?)
    }
}

#[test]
fn a_device_backend_gets_one_bucket_tensor_per_call() {
    let coll = DeviceSide::default();
    let tensors = params(1);
    let out = all_reduce_mean_tensors(&coll, &tensors).unwrap();
    for (o, t) in out.iter().zip(&tensors) {
        assert_eq!(o.dims(), t.dims());
        let want = (t * 0.5)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(o.flatten_all().unwrap().to_vec1::<f32>().unwrap(), want);
    }
    broadcast_tensors(&coll, &tensors, 0).unwrap();
    let chains = Tensor::new(&[[1f32, 2.0], [3.0, 4.0]], &Device::Cpu).unwrap();
    assert_eq!(all_gather_tensor(&coll, &chains).unwrap().dims(), &[4, 2]);
    assert_eq!(
        coll.tensor_calls.load(std::sync::atomic::Ordering::SeqCst),
        3
    );
}
