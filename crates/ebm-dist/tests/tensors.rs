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
