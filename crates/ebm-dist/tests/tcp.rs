//! The store-based CPU backend: the same bits as the local (threads) backend for every
//! collective, mismatches reported, large buffers chunked, and a store that does not grow.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use ebm_dist::{Collective, Error, LocalGroup, StoreClient, StoreServer, TcpCollective};

const WATCHDOG: Duration = Duration::from_secs(120);
const TOKEN: &str = "tcp-test-token";

/// Runs `f` on `n` ranks, each a thread with its own TcpCollective over its own connection.
fn run_tcp<T, F>(server: &StoreServer, n: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(&dyn Collective) -> T + Send + Sync + 'static,
{
    let addr = server.local_addr();
    let handles = (0..n)
        .map(|rank| {
            let store = StoreClient::connect(addr, TOKEN, Duration::from_secs(30)).unwrap();
            TcpCollective::new(store, rank, n).unwrap()
        })
        .collect::<Vec<_>>();
    run_threads(handles, f)
}

fn run_local<T, F>(n: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(&dyn Collective) -> T + Send + Sync + 'static,
{
    run_threads(LocalGroup::new(n), f)
}

fn run_threads<C, T, F>(handles: Vec<C>, f: F) -> Vec<T>
where
    C: Collective + 'static,
    T: Send + 'static,
    F: Fn(&dyn Collective) -> T + Send + Sync + 'static,
{
    let n = handles.len();
    let f = Arc::new(f);
    let (tx, rx) = mpsc::channel();
    for handle in handles {
        let (f, tx) = (Arc::clone(&f), tx.clone());
        std::thread::spawn(move || {
            // Later ranks first: arrival order is the reverse of rank order.
            std::thread::sleep(Duration::from_millis(
                5 * (handle.world_size() - handle.rank()) as u64,
            ));
            let out = f(&handle);
            let _ = tx.send((handle.rank(), out));
        });
    }
    let mut results: Vec<Option<T>> = (0..n).map(|_| None).collect();
    for _ in 0..n {
        let (rank, out) = rx.recv_timeout(WATCHDOG).expect("a rank hung or panicked");
        results[rank] = Some(out);
    }
    results.into_iter().map(Option::unwrap).collect()
}

/// Mixed magnitudes, so that the summation order changes the f32 bits.
fn data(rank: usize, len: usize) -> Vec<f32> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ (rank as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let unit = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            unit * [1e-3f32, 1.0, 1e3, 1e7][(state >> 20) as usize % 4]
        })
        .collect()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Every collective once, with unequal all-gather shards.
fn every_collective(c: &dyn Collective, len: usize) -> Vec<Vec<u32>> {
    let r = c.rank();
    let mut sum = data(r, len);
    c.all_reduce_sum(&mut sum).unwrap();
    let mut mean = data(r + 10, len);
    c.all_reduce_mean(&mut mean).unwrap();
    let mut bcast = data(r + 20, len);
    c.broadcast(&mut bcast, c.world_size() - 1).unwrap();
    let gathered = c.all_gather(&data(r + 30, 3 + 7 * r)).unwrap();
    c.barrier().unwrap();
    vec![bits(&sum), bits(&mean), bits(&bcast), bits(&gathered)]
}

#[test]
fn every_collective_matches_the_local_backend_bit_for_bit() {
    let server = StoreServer::bind_loopback(0, TOKEN).unwrap();
    for n in [1, 2, 3, 4] {
        let want = run_local(n, |c| every_collective(c, 1000));
        let got = run_tcp(&server, n, |c| every_collective(c, 1000));
        assert_eq!(got, want, "world {n}");
        for rank in 1..n {
            assert_eq!(got[rank], got[0], "rank {rank} differs from rank 0");
        }
    }
    assert_eq!(
        server.key_count(),
        0,
        "finished collectives left keys behind"
    );
}

#[test]
fn buffers_larger_than_a_store_frame_are_chunked() {
    let server = StoreServer::bind_loopback(0, TOKEN).unwrap();
    // 3 MB of f32 per rank: several frames.
    let len = 750_000;
    let want = run_local(2, move |c| every_collective(c, len));
    let got = run_tcp(&server, 2, move |c| every_collective(c, len));
    assert_eq!(got, want);
    assert_eq!(server.key_count(), 0);
}

#[test]
fn five_hundred_rounds_leave_the_store_empty() {
    let server = StoreServer::bind_loopback(0, TOKEN).unwrap();
    let server = Arc::new(server);
    let watcher = Arc::clone(&server);
    let peaks = run_tcp(&server, 3, move |c| {
        let mut peak = 0;
        for round in 0..500 {
            let mut buf = vec![c.rank() as f32 + round as f32; 16];
            c.all_reduce_sum(&mut buf).unwrap();
            assert_eq!(buf[0], 3.0 * round as f32 + 3.0);
            if round % 50 == 0 {
                c.barrier().unwrap();
                let _ = c.all_gather(&[1.0]).unwrap();
            }
            peak = peak.max(watcher.key_count());
        }
        c.barrier().unwrap();
        peak
    });
    // In flight: at most a couple of operations' keys (one per rank each).
    for peak in peaks {
        assert!(peak <= 3 * 3, "store grew to {peak} keys");
    }
    assert_eq!(server.key_count(), 0);
}

#[test]
fn ranks_that_disagree_get_a_mismatch_error() {
    let server = StoreServer::bind_loopback(0, TOKEN).unwrap();
    let out = run_tcp(&server, 2, |c| {
        let mut buf = vec![1.0f32; 4 + c.rank()];
        c.all_reduce_sum(&mut buf).map_err(|e| e.to_string())
    });
    for (rank, result) in out.iter().enumerate() {
        let message = result.as_ref().expect_err("lengths differ");
        assert!(message.contains("elements"), "rank {rank}: {message}");
    }
    let out = run_tcp(&server, 2, |c| {
        if c.rank() == 0 {
            c.barrier().map_err(|e| e.to_string())
        } else {
            c.all_gather(&[1.0]).map(|_| ()).map_err(|e| e.to_string())
        }
    });
    for result in out {
        let message = result.expect_err("operations differ");
        assert!(
            message.contains("Barrier") && message.contains("Gather"),
            "{message}"
        );
    }
}

#[test]
fn bad_rank_and_root_are_invalid_arguments() {
    let server = StoreServer::bind_loopback(0, TOKEN).unwrap();
    let store =
        || StoreClient::connect(server.local_addr(), TOKEN, Duration::from_secs(5)).unwrap();
    assert!(matches!(
        TcpCollective::new(store(), 2, 2),
        Err(Error::InvalidArgument(_))
    ));
    let c = TcpCollective::new(store(), 0, 1).unwrap();
    assert!(matches!(
        c.broadcast(&mut [1.0], 1),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn take_removes_a_key_after_its_last_reader_and_delete_removes_it_at_once() {
    let server = StoreServer::bind_loopback(0, TOKEN).unwrap();
    let c = StoreClient::connect(server.local_addr(), TOKEN, Duration::from_secs(5)).unwrap();
    c.set("k", b"v").unwrap();
    assert_eq!(c.take("k", 2).unwrap(), b"v");
    assert_eq!(server.key_count(), 1);
    assert_eq!(c.take("k", 2).unwrap(), b"v");
    assert_eq!(server.key_count(), 0);
    c.set("d", b"x").unwrap();
    assert!(c.delete("d").unwrap());
    assert!(!c.delete("d").unwrap());
    assert_eq!(server.key_count(), 0);
}
