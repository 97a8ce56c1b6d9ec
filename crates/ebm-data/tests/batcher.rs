//! Batcher: drop-last epochs without repeats, exact resume, and argument checks.

use candle_core::Device;
use ebm_data::{Batcher, BatcherState, Error, Points};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// `n` points whose row `i` is `(i, -i)`, so a batch row tells which point it is.
fn indexed(n: usize) -> Points {
    let data = (0..n).flat_map(|i| [i as f32, -(i as f32)]).collect();
    Points::new(data, 2).expect("well-formed")
}

fn batch_indices(b: &mut Batcher, rng: &mut StdRng) -> Vec<usize> {
    let t = b.next_batch(rng, &Device::Cpu).expect("batch");
    assert_eq!(t.dims(), &[b.batch_size(), 2]);
    let rows: Vec<Vec<f32>> = t.to_vec2().expect("f32 rows");
    rows.iter()
        .map(|r| {
            assert_eq!(r[1], -r[0], "rows are copied whole");
            r[0] as usize
        })
        .collect()
}

#[test]
fn each_epoch_visits_every_index_at_most_once() {
    let (n, bs) = (10, 3);
    let mut b = Batcher::new(indexed(n), bs).expect("batcher");
    assert_eq!(b.batches_per_epoch(), 3);
    let mut rng = StdRng::seed_from_u64(1);
    let mut epochs = Vec::new();
    for _ in 0..4 {
        let mut seen: Vec<usize> = (0..3)
            .flat_map(|_| batch_indices(&mut b, &mut rng))
            .collect();
        seen.sort_unstable();
        let len = seen.len();
        seen.dedup();
        assert_eq!(seen.len(), len, "an index repeated within an epoch");
        assert_eq!(len, 9, "drop-last: one point left out per epoch");
        epochs.push(seen);
    }
    assert!(
        epochs.windows(2).any(|w| w[0] != w[1]),
        "each epoch reshuffles"
    );
}

#[test]
fn construction_consumes_no_randomness() {
    let mut rng = StdRng::seed_from_u64(2);
    let before = rng.clone().random::<u64>();
    let b = Batcher::new(indexed(8), 4).expect("batcher");
    assert!(b.state().order.is_empty() && b.state().pos == 0);
    assert_eq!(rng.random::<u64>(), before);
}

#[test]
fn restore_continues_with_identical_batches() {
    let mut b = Batcher::new(indexed(11), 4).expect("batcher");
    let mut rng = StdRng::seed_from_u64(3);
    for stop in 0..7 {
        // 2 batches per epoch and 5 per round: checkpoints fall before the first batch, then
        // alternately mid-epoch and at an epoch's end; each future crosses epoch boundaries.
        let state = b.state();
        let mut rng2 = rng.clone();
        let mut fresh = Batcher::new(indexed(11), 4).expect("batcher");
        fresh.restore(state.clone()).expect("restore");
        assert_eq!(fresh.state(), state);
        for _ in 0..5 {
            let orig = b.next_batch(&mut rng, &Device::Cpu).expect("batch");
            let got = fresh.next_batch(&mut rng2, &Device::Cpu).expect("batch");
            let a: Vec<Vec<f32>> = orig.to_vec2().expect("rows");
            let g: Vec<Vec<f32>> = got.to_vec2().expect("rows");
            assert_eq!(a, g, "diverged after checkpoint {stop}");
        }
        assert_eq!(
            rng.random::<u64>(),
            rng2.random::<u64>(),
            "same randomness consumed"
        );
    }
}

#[test]
fn bad_batch_sizes_are_rejected() {
    for bs in [0, 6, 100] {
        let err = Batcher::new(indexed(5), bs).expect_err("invalid batch size");
        assert!(
            matches!(&err, Error::InvalidParam { key, .. } if key == "batch_size"),
            "{err}"
        );
    }
    assert!(Batcher::new(indexed(5), 5).is_ok());
    assert!(Batcher::new(indexed(5), 1).is_ok());
    let malformed = Points {
        data: vec![1.0; 4],
        dim: 0,
        shape: vec![0],
        labels: None,
    };
    assert!(Batcher::new(malformed, 1).is_err());
}

#[test]
fn bad_states_are_rejected_and_change_nothing() {
    let mut b = Batcher::new(indexed(4), 2).expect("batcher");
    let mut rng = StdRng::seed_from_u64(4);
    b.next_batch(&mut rng, &Device::Cpu).expect("batch");
    let good = b.state();
    let bad = [
        BatcherState {
            order: vec![0, 1, 2],
            pos: 0,
        }, // wrong length
        BatcherState {
            order: vec![0, 1, 2, 3, 4],
            pos: 0,
        }, // wrong length
        BatcherState {
            order: vec![0, 1, 1, 3],
            pos: 0,
        }, // repeated index
        BatcherState {
            order: vec![0, 1, 2, 9],
            pos: 0,
        }, // index out of range
        BatcherState {
            order: vec![3, 2, 1, 0],
            pos: 5,
        }, // past the end
        BatcherState {
            order: vec![],
            pos: 1,
        }, // no epoch, yet a position
    ];
    for state in bad {
        let err = b.restore(state.clone()).expect_err("invalid state");
        assert!(
            matches!(err, Error::InvalidState { .. }),
            "{state:?}: {err}"
        );
        assert_eq!(b.state(), good);
    }
    // The end of an epoch and "not started" are both valid.
    b.restore(BatcherState {
        order: vec![3, 2, 1, 0],
        pos: 4,
    })
    .expect("end of epoch");
    b.restore(BatcherState {
        order: vec![],
        pos: 0,
    })
    .expect("not started");
    assert_eq!(b.points(), &indexed(4));
}
