//! The local (threads) backend: exact results, identical bits on every rank, no deadlock, and
//! errors instead of hangs when a rank goes away.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ebm_dist::{Collective, Error, LocalCollective, LocalGroup, SingleRank};

/// Longest any test waits for its ranks; a deadlock fails the test instead of hanging CI.
const WATCHDOG: Duration = Duration::from_secs(60);

/// Runs `f` on every rank of a fresh group, each in its own thread; results in rank order.
fn run_group<T, F>(handles: Vec<LocalCollective>, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(LocalCollective) -> T + Send + Sync + 'static,
{
    let n = handles.len();
    let f = Arc::new(f);
    let (tx, rx) = mpsc::channel();
    for handle in handles {
        let (f, tx) = (Arc::clone(&f), tx.clone());
        std::thread::spawn(move || {
            let rank = handle.rank();
            let out = f(handle);
            let _ = tx.send((rank, out));
        });
    }
    let mut results: Vec<Option<T>> = (0..n).map(|_| None).collect();
    for _ in 0..n {
        let (rank, out) = rx
            .recv_timeout(WATCHDOG)
            .expect("a rank did not finish: deadlock, or it panicked");
        results[rank] = Some(out);
    }
    results
        .into_iter()
        .map(|r| r.expect("every rank reported"))
        .collect()
}

/// Per-rank data with mixed magnitudes, so that the order of summation changes the f32 bits.
fn data(rank: usize, len: usize) -> Vec<f32> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ (rank as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let unit = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            let scale = [1e-3f32, 1.0, 1e3, 1e7][(state >> 20) as usize % 4];
            unit * scale
        })
        .collect()
}

/// Sum in rank order 0..n, the reference every rank must reproduce bit for bit.
fn sequential_sum(n: usize, len: usize) -> Vec<f32> {
    let mut acc = data(0, len);
    for r in 1..n {
        acc.iter_mut().zip(data(r, len)).for_each(|(a, b)| *a += b);
    }
    acc
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Makes later ranks arrive first, so arrival order is the reverse of rank order.
fn stagger(c: &LocalCollective) {
    std::thread::sleep(Duration::from_millis(
        5 * (c.world_size() - c.rank()) as u64,
    ));
}

const LEN: usize = 1000;

#[test]
fn the_test_data_is_sensitive_to_summation_order() {
    let mut reversed = data(3, LEN);
    for r in (0..3).rev() {
        reversed
            .iter_mut()
            .zip(data(r, LEN))
            .for_each(|(a, b)| *a += b);
    }
    assert_ne!(bits(&reversed), bits(&sequential_sum(4, LEN)));
}

#[test]
fn all_reduce_sum_is_the_rank_order_sum_bit_for_bit() {
    for n in [1, 2, 4] {
        let out = run_group(LocalGroup::new(n), |c| {
            let mut buf = data(c.rank(), LEN);
            stagger(&c);
            c.all_reduce_sum(&mut buf).unwrap();
            buf
        });
        let want = bits(&sequential_sum(n, LEN));
        for (rank, got) in out.iter().enumerate() {
            assert_eq!(bits(got), want, "world {n}, rank {rank}");
        }
    }
}

#[test]
fn all_reduce_mean_is_the_sum_divided_by_n_bit_for_bit() {
    for n in [1, 2, 4] {
        let out = run_group(LocalGroup::new(n), |c| {
            let mut buf = data(c.rank(), LEN);
            stagger(&c);
            c.all_reduce_mean(&mut buf).unwrap();
            buf
        });
        let want: Vec<f32> = sequential_sum(n, LEN)
            .iter()
            .map(|s| s / n as f32)
            .collect();
        for got in &out {
            assert_eq!(bits(got), bits(&want), "world {n}");
        }
    }
}

#[test]
fn broadcast_from_a_non_zero_root() {
    let out = run_group(LocalGroup::new(4), |c| {
        let mut buf = data(c.rank(), 17);
        c.broadcast(&mut buf, 2).unwrap();
        let bad_root = c.broadcast(&mut buf.clone(), 4);
        (buf, bad_root.is_err())
    });
    for (buf, bad_root_rejected) in out {
        assert_eq!(bits(&buf), bits(&data(2, 17)));
        assert!(bad_root_rejected);
    }
}

#[test]
fn all_gather_concatenates_unequal_shards_in_rank_order() {
    // Rank r holds r * 3 elements (rank 0 holds none), like uneven chain-bank shards.
    let out = run_group(LocalGroup::new(4), |c| {
        stagger(&c);
        c.all_gather(&data(c.rank(), c.rank() * 3)).unwrap()
    });
    let want: Vec<f32> = (0..4).flat_map(|r| data(r, r * 3)).collect();
    for got in out {
        assert_eq!(bits(&got), bits(&want));
    }
}

#[test]
fn nobody_leaves_a_barrier_before_everyone_arrived() {
    let arrived = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&arrived);
    let seen = run_group(LocalGroup::new(4), move |c| {
        stagger(&c);
        counter.fetch_add(1, Ordering::SeqCst);
        c.barrier().unwrap();
        counter.load(Ordering::SeqCst)
    });
    assert_eq!(seen, vec![4; 4]);
}

#[test]
fn a_thousand_mixed_rounds_do_not_deadlock() {
    let out = run_group(LocalGroup::new(4), |c| {
        let r = c.rank() as f32;
        for round in 0..1000 {
            let mut buf = [r, round as f32];
            c.all_reduce_sum(&mut buf).unwrap();
            assert_eq!(buf, [6.0, 4.0 * round as f32]);
            match round % 3 {
                0 => c.barrier().unwrap(),
                1 => {
                    let mut b = [r];
                    c.broadcast(&mut b, round % 4).unwrap();
                    assert_eq!(b, [(round % 4) as f32]);
                }
                _ => assert_eq!(c.all_gather(&[r]).unwrap(), vec![0.0, 1.0, 2.0, 3.0]),
            }
        }
        true
    });
    assert_eq!(out, vec![true; 4]);
}

#[test]
fn a_dropped_rank_makes_the_others_error_not_hang() {
    // A long timeout: the error must come from the drop, not from the timeout.
    let started = Instant::now();
    let out = run_group(LocalGroup::with_timeout(3, Duration::from_secs(120)), |c| {
        if c.rank() == 2 {
            std::thread::sleep(Duration::from_millis(100));
            drop(c);
            return None;
        }
        let mut buf = [1.0f32];
        Some(c.all_reduce_sum(&mut buf))
    });
    assert!(started.elapsed() < Duration::from_secs(30));
    for result in out.into_iter().flatten() {
        assert!(
            matches!(result, Err(Error::GroupBroken { .. })),
            "{result:?}"
        );
    }
}

#[test]
fn a_panicking_rank_makes_the_others_error_not_hang() {
    let handles = LocalGroup::with_timeout(2, Duration::from_secs(120));
    let mut handles = handles.into_iter();
    let (c0, c1) = (handles.next().unwrap(), handles.next().unwrap());
    let doomed = std::thread::spawn(move || {
        let _keep = c1;
        std::thread::sleep(Duration::from_millis(100));
        panic!("rank 1 fails mid-step");
    });
    let mut buf = [1.0f32];
    let err = c0.all_reduce_sum(&mut buf).unwrap_err();
    assert!(matches!(err, Error::GroupBroken { .. }), "{err}");
    assert!(doomed.join().is_err());
    // And the group stays broken: later calls fail at once.
    assert!(c0.barrier().is_err());
}

#[test]
fn a_silent_rank_times_out_with_a_clear_error() {
    let out = run_group(
        LocalGroup::with_timeout(2, Duration::from_millis(200)),
        |c| {
            if c.rank() == 1 {
                std::thread::sleep(Duration::from_millis(1000)); // alive, but never calls
                return None;
            }
            Some(c.barrier())
        },
    );
    let err = out[0].as_ref().unwrap().as_ref().unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
}

#[test]
fn ranks_calling_different_collectives_all_get_a_mismatch() {
    let out = run_group(LocalGroup::new(2), |c| {
        let mut buf = [1.0f32, 2.0];
        let first = if c.rank() == 0 {
            c.all_reduce_sum(&mut buf)
        } else {
            c.broadcast(&mut buf, 0)
        };
        let mut short = vec![0.0f32; 1 + c.rank()];
        let second = c.all_reduce_sum(&mut short);
        // The group is still usable after a mismatch.
        let mut ok = [1.0f32];
        c.all_reduce_sum(&mut ok).unwrap();
        (first.is_err(), second.is_err(), ok[0])
    });
    assert_eq!(out, vec![(true, true, 2.0); 2]);
}

#[test]
fn single_rank_is_the_identity() {
    let c = SingleRank;
    let mut buf = vec![1.5f32, -2.0];
    c.all_reduce_sum(&mut buf).unwrap();
    c.all_reduce_mean(&mut buf).unwrap();
    c.broadcast(&mut buf, 0).unwrap();
    c.barrier().unwrap();
    assert_eq!(buf, vec![1.5, -2.0]);
    assert_eq!(c.all_gather(&buf).unwrap(), buf);
    assert!(c.broadcast(&mut buf, 1).is_err());
    let boxed: Box<dyn Collective> = Box::new(c);
    assert_eq!((boxed.rank(), boxed.world_size()), (0, 1));
}
