//! Restarts and failures across the nodes of a run (torchrun's elastic agent, simplified): the
//! launchers agree through keys of node 0's rendezvous store that no worker touches (workers'
//! keys carry their group's generation prefix, `g<N>/`).
//!
//! - `restart/generation`: the worker group's generation, 0 at the start. A launcher whose worker
//!   failed claims the restart of its generation (`restart/claim/<g>`; the first claimant wins,
//!   so one failure seen on several nodes is one restart), waits the back-off and publishes g+1;
//!   every launcher that sees a newer generation stops its workers and starts them again with
//!   it, resuming from the newest verified checkpoint. `--max-restarts N` bounds the generation.
//! - `restart/abort`: set by a launcher whose worker failed with no restart left (or that cannot
//!   be restarted); every other launcher stops its workers and exits 1, instead of leaving them
//!   blocked in a collective waiting for a rank that is gone.

use std::time::{Duration, Instant};

use ebm_dist::StoreClient;

use crate::cli::LaunchError;

const GENERATION: &str = "restart/generation";
const ABORT: &str = "restart/abort";

/// A launcher's view of the run-wide restart state.
pub struct Control {
    store: StoreClient,
}

/// What the other launchers decided, as one launcher's watch sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing: keep watching.
    Continue,
    /// Another launcher published this generation: restart with it.
    Restart(usize),
    /// Another launcher gave up (or node 0's store is gone): stop.
    Abort(String),
}

impl Control {
    /// Connects to node 0's store (retrying until `timeout`, as node 0 may start later).
    pub fn connect(addr: (&str, u16), token: &str, timeout: Duration) -> Result<Self, LaunchError> {
        Ok(Control {
            store: StoreClient::connect(addr, token, timeout)?,
        })
    }

    /// What to do, seen from generation `current`.
    pub fn decision(&self, current: usize) -> Decision {
        let read = || -> Result<(i64, i64), ebm_dist::Error> {
            Ok((self.store.add(GENERATION, 0)?, self.store.add(ABORT, 0)?))
        };
        match read() {
            Ok((_, abort)) if abort > 0 => {
                Decision::Abort("a worker on another node failed and the run was stopped".into())
            }
            Ok((generation, _)) if generation as usize > current => {
                Decision::Restart(generation as usize)
            }
            Ok(_) => Decision::Continue,
            Err(e) => Decision::Abort(format!("node 0's rendezvous store is gone ({e})")),
        }
    }

    /// Claims the restart after generation `current` and, if this launcher won, publishes
    /// `current + 1` after `backoff`. Then waits until some launcher has published it; returns
    /// the generation to start (or an error when another launcher aborted instead).
    pub fn restart_after(
        &self,
        current: usize,
        backoff: Duration,
        stopped: &dyn Fn(Duration) -> bool,
    ) -> Result<usize, LaunchError> {
        let won = self.store.add(&format!("restart/claim/{current}"), 1)? == 1;
        if won {
            if stopped(backoff) {
                return Err(LaunchError::Run {
                    message: "stopped by a signal while waiting to restart".into(),
                    code: 130,
                });
            }
            self.store.add(GENERATION, 1)?;
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            match self.decision(current) {
                Decision::Restart(g) => return Ok(g),
                Decision::Abort(why) => return Err(LaunchError::run(why)),
                Decision::Continue if Instant::now() > deadline => {
                    return Err(LaunchError::run(
                        "another node claimed the restart but never published it",
                    ))
                }
                Decision::Continue => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Tells every other launcher to stop (best effort: the store may be gone already).
    pub fn abort(&self) {
        let _ = self.store.add(ABORT, 1);
    }
}
