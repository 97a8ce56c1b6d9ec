//! The `local` backend: N ranks as threads of one process, sharing memory.
//!
//! Each collective is one *round*: every rank deposits its contribution in its own slot, the last
//! rank to arrive combines the slots **in rank order** and publishes one shared result, and every
//! rank copies it out. Because the combination reads slots by rank index, not by arrival, the f32
//! bits of a reduction do not depend on thread timing, and all ranks get the very same bits.
//!
//! Failure: a handle that is dropped (also during a panic's unwinding) marks the group broken and
//! wakes everyone, so peers get [`Error::GroupBroken`] instead of waiting forever; a poisoned lock
//! does the same; and every wait has a timeout ([`DEFAULT_TIMEOUT`] unless told otherwise).

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::collective::{check_root, Collective};
use crate::{Error, Result};

/// How long a rank waits for its peers before giving up, unless [`LocalGroup::with_timeout`] says.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The operation of a round; every rank of a round must name the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Sum,
    Broadcast { root: usize },
    Gather,
    Barrier,
}

/// What every rank of a completed round receives: the result, or why the ranks disagreed.
type Outcome = std::result::Result<Arc<Vec<f32>>, String>;

/// State of the round in progress, and the outcome of the last completed one.
struct Round {
    /// Number of completed rounds.
    generation: u64,
    op: Option<Op>,
    mismatch: Option<String>,
    slots: Vec<Option<Vec<f32>>>,
    arrived: usize,
    /// Outcome of round `generation - 1`. A rank waiting on that round reads it before it can
    /// contribute to the next round, and the next round cannot complete without it, so it is
    /// never overwritten before every rank has read it.
    outcome: Outcome,
    broken: Option<String>,
}

struct Shared {
    world_size: usize,
    timeout: Duration,
    round: Mutex<Round>,
    done: Condvar,
}

/// Builds the handles of a group of threads.
#[derive(Debug, Clone, Copy)]
pub struct LocalGroup;

impl LocalGroup {
    /// One handle per rank, in rank order; move each into its own thread. Waits time out after
    /// [`DEFAULT_TIMEOUT`].
    // `LocalGroup` is only a namespace: the group *is* its handles, so `new` returns them.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(world_size: usize) -> Vec<LocalCollective> {
        Self::with_timeout(world_size, DEFAULT_TIMEOUT)
    }

    /// As [`LocalGroup::new`], with the time a rank waits for its peers before erroring.
    pub fn with_timeout(world_size: usize, timeout: Duration) -> Vec<LocalCollective> {
        let shared = Arc::new(Shared {
            world_size,
            timeout,
            round: Mutex::new(Round {
                generation: 0,
                op: None,
                mismatch: None,
                slots: vec![None; world_size],
                arrived: 0,
                outcome: Ok(Arc::new(Vec::new())),
                broken: None,
            }),
            done: Condvar::new(),
        });
        (0..world_size)
            .map(|rank| LocalCollective {
                rank,
                shared: Arc::clone(&shared),
            })
            .collect()
    }
}

/// One rank's handle on a [`LocalGroup`].
pub struct LocalCollective {
    rank: usize,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for LocalCollective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCollective")
            .field("rank", &self.rank)
            .field("world_size", &self.shared.world_size)
            .finish()
    }
}

impl LocalCollective {
    fn broken(&self, reason: impl Into<String>) -> Error {
        Error::GroupBroken {
            rank: self.rank,
            reason: reason.into(),
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Round>> {
        self.shared
            .round
            .lock()
            .map_err(|_| self.broken("a rank panicked while holding the group lock"))
    }

    /// Runs one round: deposits `contribution`, waits for the others, returns the shared result.
    fn run(&self, op: Op, contribution: Vec<f32>) -> Result<Arc<Vec<f32>>> {
        let mut round = self.lock()?;
        if let Some(reason) = &round.broken {
            return Err(self.broken(reason.clone()));
        }
        match round.op {
            None => round.op = Some(op),
            Some(first) if first != op && round.mismatch.is_none() => {
                round.mismatch = Some(format!(
                    "rank {} called {op:?} while another rank called {first:?}",
                    self.rank
                ));
            }
            Some(_) => {}
        }
        if round.slots[self.rank].is_some() {
            // The handle is `Sync`, but one rank is one caller: a second concurrent call would
            // be counted as another rank's arrival.
            return Err(Error::Mismatch {
                rank: self.rank,
                message: "this rank's handle is already in a collective on another thread".into(),
            });
        }
        round.slots[self.rank] = Some(contribution);
        round.arrived += 1;

        if round.arrived == self.shared.world_size {
            let outcome = match round.mismatch.take() {
                Some(message) => Err(message),
                None => combine(op, &round.slots).map(Arc::new),
            };
            round.slots.iter_mut().for_each(|slot| *slot = None);
            round.arrived = 0;
            round.op = None;
            round.outcome = outcome;
            round.generation += 1;
            self.shared.done.notify_all();
            return self.unpack(&round.outcome);
        }

        let generation = round.generation;
        let deadline = Instant::now() + self.shared.timeout;
        loop {
            if round.generation != generation {
                return self.unpack(&round.outcome);
            }
            if let Some(reason) = &round.broken {
                return Err(self.broken(reason.clone()));
            }
            let now = Instant::now();
            if now >= deadline {
                // Our contribution is stuck in a round that cannot complete: break the group so
                // that the peers stop too, rather than pairing with a later call of ours.
                round.broken = Some(format!("rank {} timed out in {op:?}", self.rank));
                self.shared.done.notify_all();
                return Err(Error::Timeout {
                    what: format!("the other ranks to join {op:?} (rank {})", self.rank),
                    after: self.shared.timeout,
                });
            }
            round = self
                .shared
                .done
                .wait_timeout(round, deadline - now)
                .map_err(|_| self.broken("a rank panicked while holding the group lock"))?
                .0;
        }
    }

    fn unpack(&self, outcome: &Outcome) -> Result<Arc<Vec<f32>>> {
        outcome.clone().map_err(|message| Error::Mismatch {
            rank: self.rank,
            message,
        })
    }
}

/// Combines the contributions of a round, reading them in rank order.
fn combine(op: Op, slots: &[Option<Vec<f32>>]) -> std::result::Result<Vec<f32>, String> {
    let parts: Vec<&[f32]> = slots.iter().map(|s| s.as_deref().unwrap_or(&[])).collect();
    let same_length = || match parts.iter().position(|p| p.len() != parts[0].len()) {
        None => Ok(()),
        Some(r) => Err(format!(
            "{op:?}: rank 0 has {} elements, rank {r} has {}",
            parts[0].len(),
            parts[r].len()
        )),
    };
    match op {
        Op::Sum => {
            same_length()?;
            let mut acc = parts[0].to_vec();
            for part in &parts[1..] {
                acc.iter_mut().zip(part.iter()).for_each(|(a, b)| *a += *b);
            }
            Ok(acc)
        }
        Op::Broadcast { root } => {
            same_length()?;
            Ok(parts[root].to_vec())
        }
        Op::Gather => Ok(parts.concat()),
        Op::Barrier => Ok(Vec::new()),
    }
}

impl Collective for LocalCollective {
    fn rank(&self) -> usize {
        self.rank
    }

    fn world_size(&self) -> usize {
        self.shared.world_size
    }

    fn all_reduce_sum(&self, buf: &mut [f32]) -> Result<()> {
        let sum = self.run(Op::Sum, buf.to_vec())?;
        buf.copy_from_slice(&sum);
        Ok(())
    }

    fn broadcast(&self, buf: &mut [f32], root: usize) -> Result<()> {
        check_root(root, self.shared.world_size)?;
        let data = self.run(Op::Broadcast { root }, buf.to_vec())?;
        buf.copy_from_slice(&data);
        Ok(())
    }

    fn all_gather(&self, local: &[f32]) -> Result<Vec<f32>> {
        Ok(self.run(Op::Gather, local.to_vec())?.as_ref().clone())
    }

    fn barrier(&self) -> Result<()> {
        self.run(Op::Barrier, Vec::new()).map(|_| ())
    }
}

impl Drop for LocalCollective {
    /// Leaving the group (normally or while unwinding from a panic) breaks it for everyone still
    /// waiting or yet to call. Ranks that already completed their last round are unaffected.
    fn drop(&mut self) {
        let mut round = match self.shared.round.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if round.broken.is_none() {
            round.broken = Some(format!("rank {} left the group", self.rank));
        }
        self.shared.done.notify_all();
    }
}
