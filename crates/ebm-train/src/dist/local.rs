//! `run_local_ranks`: N ranks as threads of this process over [`ebm_dist::LocalGroup`] — what
//! tests, benches and laptops use. A run fails as a whole: the first rank to fail (in rank
//! order, ignoring ranks that only failed because a peer left) is the error, named by its rank.
//! A failing rank drops its collective handle, which breaks the group, so the others get an
//! error instead of waiting forever.

use crate::{Error, LoadedConfig, Result, RunHooks, Start, TrainSummary, Trainer};
use ebm_dist::{Collective, LocalGroup};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How long a rank waits for its peers. Peers that fail break the group at once, so this only
/// bounds a genuine hang; it must exceed the longest stretch rank 0 works alone (its final
/// evaluation, while the others wait for the report).
const PEER_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Stack of a rank thread: as much as a main thread gets, since backward passes recurse.
const RANK_STACK: usize = 8 << 20;

/// Trains `ranks` ranks as threads (rank 0 writes `dir`; each rank gets a clone of `hooks`,
/// which only rank 0 calls) and returns rank 0's summary.
pub fn run_local_ranks<H>(
    loaded: &LoadedConfig,
    dir: &Path,
    start: Start,
    ranks: usize,
    hooks: H,
) -> Result<TrainSummary<H::Report>>
where
    H: RunHooks + Clone + Send,
    H::Report: Send,
{
    if ranks == 0 {
        return Err(ebm_core::Error::config("dist.ranks", "must be > 0").into());
    }
    // Before any thread runs a backward (see `ebm_core::ensure_double_backward`).
    ebm_core::ensure_double_backward();
    let outcomes: Vec<Result<TrainSummary<H::Report>>> = std::thread::scope(|scope| {
        let threads: Vec<_> = LocalGroup::with_timeout(ranks, PEER_TIMEOUT)
            .into_iter()
            .enumerate()
            .map(|(rank, handle)| {
                let mut hooks = hooks.clone();
                let start = start.clone();
                std::thread::Builder::new()
                    .name(format!("ebm-rank-{rank}"))
                    .stack_size(RANK_STACK)
                    .spawn_scoped(scope, move || {
                        let coll: Arc<dyn Collective> = Arc::new(handle);
                        Trainer::new_distributed(loaded, dir, start, coll)?.run(&mut hooks)
                    })
                    .map_err(|e| Error::RankPanicked {
                        rank,
                        message: format!("could not start its thread: {e}"),
                    })
            })
            .collect();
        threads
            .into_iter()
            .enumerate()
            .map(|(rank, t)| match t {
                Err(e) => Err(e),
                Ok(t) => t.join().unwrap_or_else(|panic| {
                    Err(Error::RankPanicked {
                        rank,
                        message: panic_message(panic.as_ref()),
                    })
                }),
            })
            .collect()
    });
    pick_outcome(outcomes)
}

/// Rank 0's summary if every rank succeeded, else the root-cause error named by its rank.
fn pick_outcome<T>(outcomes: Vec<Result<T>>) -> Result<T> {
    let mut first_echo = None;
    let mut summary = None;
    for (rank, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            Ok(s) if rank == 0 => summary = Some(s),
            Ok(_) => {}
            Err(e @ Error::RankPanicked { .. }) => return Err(e),
            Err(e) if !e.is_peer_failure() => {
                return Err(Error::Rank {
                    rank,
                    source: Box::new(e),
                })
            }
            Err(e) => {
                first_echo.get_or_insert(Error::Rank {
                    rank,
                    source: Box::new(e),
                });
            }
        }
    }
    match (first_echo, summary) {
        (Some(e), _) => Err(e),
        (None, Some(s)) => Ok(s),
        (None, None) => Err(Error::RankPanicked {
            rank: 0,
            message: "no rank ran".into(),
        }),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}
