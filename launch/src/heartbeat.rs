//! Heartbeats: how the launcher tells a frozen worker from a waiting one (issue 17, D4). A worker
//! process that is stopped (SIGSTOP), hung in the kernel or cut off from the store stops beating;
//! its peers, blocked in a collective waiting for it, keep beating. So the launcher names the rank
//! that went silent, instead of the first rank whose collective timed out.
//!
//! Each worker runs a thread that adds 1 to `heartbeat/<rank>` in the rendezvous store every
//! [`BEAT_EVERY`], on a connection of its own. The launcher reads each of its local ranks' counters
//! (an `add` of 0, which never blocks) about once per [`BEAT_EVERY`]; a counter that has not moved
//! for `dist.heartbeat_timeout` seconds fails the run naming that rank. A worker that exits is
//! the watch's business, not this one's.

use std::time::{Duration, Instant};

use ebm_dist::StoreClient;

/// How often a worker beats, and about how often the launcher looks.
pub const BEAT_EVERY: Duration = Duration::from_secs(1);

fn key(rank: usize) -> String {
    format!("heartbeat/{rank}")
}

/// Starts the worker's heartbeat thread; it lives as long as the process. A failed beat (the
/// store busy or briefly unreachable) is retried at the next one: only silence counts.
pub fn start_beating(addr: (String, u16), token: String, prefix: String, rank: usize) {
    std::thread::spawn(move || {
        let mut store = None;
        loop {
            if store.is_none() {
                store = StoreClient::connect((addr.0.as_str(), addr.1), &token, BEAT_EVERY * 5)
                    .ok()
                    .map(|s| s.with_prefix(prefix.clone()));
            }
            if let Some(s) = &store {
                if s.add(&key(rank), 1).is_err() {
                    store = None; // reconnect next time
                }
            }
            std::thread::sleep(BEAT_EVERY);
        }
    });
}

/// The launcher's view of its workers' heartbeats.
pub struct HeartbeatMonitor {
    store: StoreClient,
    timeout: Duration,
    /// Per watched rank: the last counter value and when it last changed.
    ranks: Vec<(usize, i64, Instant)>,
    last_look: Instant,
}

/// A rank whose heartbeat stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silent {
    pub rank: usize,
    pub beats: i64,
    pub for_secs: u64,
}

impl HeartbeatMonitor {
    /// Watches `ranks` through the store at `addr` (keys under the group's `prefix`); a rank that has not beaten yet has `timeout`
    /// from now for its first beat.
    pub fn new(
        addr: (&str, u16),
        token: &str,
        prefix: &str,
        ranks: impl IntoIterator<Item = usize>,
        timeout: Duration,
    ) -> Result<Self, ebm_dist::Error> {
        let store = StoreClient::connect(addr, token, BEAT_EVERY * 5)?.with_prefix(prefix);
        let now = Instant::now();
        Ok(HeartbeatMonitor {
            store,
            timeout,
            ranks: ranks.into_iter().map(|r| (r, 0, now)).collect(),
            last_look: now,
        })
    }

    /// How long a rank may stay silent (`dist.heartbeat_timeout`).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Reads the counters (at most once per [`BEAT_EVERY`]) and returns the first rank silent for
    /// longer than the timeout. `alive(rank)` is false for ranks that have exited (not watched).
    pub fn silent_rank(&mut self, alive: impl Fn(usize) -> bool) -> Option<Silent> {
        let now = Instant::now();
        if now.duration_since(self.last_look) < BEAT_EVERY {
            return None;
        }
        self.last_look = now;
        for (rank, beats, changed) in &mut self.ranks {
            if !alive(*rank) {
                continue;
            }
            // The store itself is the launcher's (node 0) or reachable as the workers reach it;
            // a failed read says nothing about the worker, so it is not counted as silence.
            let Ok(seen) = self.store.add(&key(*rank), 0) else {
                continue;
            };
            if seen != *beats {
                (*beats, *changed) = (seen, now);
            } else if now.duration_since(*changed) > self.timeout {
                return Some(Silent {
                    rank: *rank,
                    beats: seen,
                    for_secs: now.duration_since(*changed).as_secs(),
                });
            }
        }
        None
    }
}
