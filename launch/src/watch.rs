//! Watching the workers (torchrun's agent monitor loop): their output prefixed with the rank and
//! kept per rank, their exits, and the launcher's own SIGINT/SIGTERM. The run fails as a whole:
//! the first worker that fails (non-zero exit or a signal) stops all the others — SIGTERM to each
//! worker's process group, a grace period, then SIGKILL — and the launcher reports that rank
//! with its last lines.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::cli::LaunchError;
use crate::heartbeat::{HeartbeatMonitor, Silent, BEAT_EVERY};
use crate::restart::{Control, Decision};
use crate::spawn::{signal_group, Worker};
use std::sync::Arc;

/// Lines kept per rank for the failure report.
const TAIL: usize = 20;
/// How long stopped workers get to exit after SIGTERM before SIGKILL.
pub const GRACE: Duration = Duration::from_secs(3);
const POLL: Duration = Duration::from_millis(50);

/// The signal the launcher received (0: none).
static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_stop_signal(signal: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    STOP_SIGNAL.store(signal, Ordering::SeqCst);
}

/// Makes SIGINT and SIGTERM request a clean stop instead of killing the launcher outright.
pub fn install_stop_handlers() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic; `signal` is a valid signal number.
        unsafe {
            libc::signal(
                signal,
                on_stop_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
            );
        }
    }
}

/// Sleeps `wait`, returning early with `true` if SIGINT or SIGTERM arrived.
pub fn sleep_unless_stopped(wait: Duration) -> bool {
    let until = Instant::now() + wait;
    while Instant::now() < until {
        if STOP_SIGNAL.load(Ordering::SeqCst) != 0 {
            return true;
        }
        std::thread::sleep(POLL);
    }
    STOP_SIGNAL.load(Ordering::SeqCst) != 0
}

/// The worker group's state, acted on by the monitor loop.
#[derive(Debug, Clone, PartialEq, Eq)]
enum GroupState {
    Healthy,
    Succeeded,
    Failed {
        rank: usize,
        status: ExitStatus,
    },
    Stopped {
        signal: i32,
    },
    /// A running worker stopped beating (frozen, SIGSTOP, cut off from the store).
    Silent(Silent),
    /// Another node's launcher decided to restart or to stop.
    Decided(Decision),
}

/// How a worker group ended, for the launcher to act on.
#[derive(Debug)]
pub enum Outcome {
    /// Every worker succeeded.
    Finished,
    /// A worker of this node failed or went silent, or the launcher was stopped.
    Failed(LaunchError),
    /// Another launcher published this generation: start the workers again with it.
    Restart(usize),
    /// Another launcher stopped the run (or node 0's store is gone).
    Aborted(String),
}

struct Line {
    rank: usize,
    stderr: bool,
    text: String,
}

/// Workers, their output pumps, and the last lines of each rank.
pub struct Watch {
    workers: Vec<Worker>,
    exited: Vec<Option<ExitStatus>>,
    tails: Vec<VecDeque<String>>,
    lines: Receiver<Line>,
    pumps: Vec<JoinHandle<()>>,
    heartbeat: Option<HeartbeatMonitor>,
    /// The run-wide restart state, this group's generation, and when it was last read.
    control: Option<(Arc<Control>, usize, Instant)>,
}

impl Watch {
    /// Takes over the workers' pipes.
    pub fn new(mut workers: Vec<Worker>) -> Self {
        let (tx, lines) = mpsc::channel();
        let mut pumps = Vec::new();
        let max_rank = workers.iter().map(|w| w.rank).max().unwrap_or(0);
        for w in &mut workers {
            if let Some(out) = w.child.stdout.take() {
                pumps.push(pump(out, w.rank, false, tx.clone()));
            }
            if let Some(err) = w.child.stderr.take() {
                pumps.push(pump(err, w.rank, true, tx.clone()));
            }
        }
        let n = workers.len();
        Watch {
            workers,
            exited: vec![None; n],
            tails: vec![VecDeque::new(); max_rank + 1],
            lines,
            pumps,
            heartbeat: None,
            control: None,
        }
    }

    /// Also ends the group when another node's launcher restarts or stops the run.
    pub fn with_control(mut self, control: Arc<Control>, generation: usize) -> Self {
        self.control = Some((control, generation, Instant::now()));
        self
    }

    /// What the other launchers decided, read at most once per [`BEAT_EVERY`].
    fn decision(&mut self) -> Decision {
        match &mut self.control {
            Some((control, generation, last)) if last.elapsed() >= BEAT_EVERY => {
                *last = Instant::now();
                control.decision(*generation)
            }
            _ => Decision::Continue,
        }
    }

    /// Also fails the run when a running worker's heartbeat stops for the monitor's timeout.
    pub fn with_heartbeat(mut self, monitor: HeartbeatMonitor) -> Self {
        self.heartbeat = Some(monitor);
        self
    }

    /// Runs until every worker succeeded, one failed, the launcher was stopped, or another
    /// launcher restarted or stopped the run.
    pub fn run(mut self) -> Outcome {
        let state = loop {
            self.relay(POLL);
            let mut state = match self.poll() {
                Ok(state) => state,
                Err(e) => {
                    self.stop_all();
                    return Outcome::Failed(e);
                }
            };
            if state == GroupState::Healthy {
                if let Some(silent) = self.silent_rank() {
                    state = GroupState::Silent(silent);
                }
            }
            if state == GroupState::Healthy {
                let decision = self.decision();
                if decision != Decision::Continue {
                    state = GroupState::Decided(decision);
                }
            }
            if state != GroupState::Healthy {
                break state;
            }
        };
        if state != GroupState::Succeeded {
            self.stop_all();
        }
        for pump in self.pumps.drain(..) {
            let _ = pump.join();
        }
        self.relay(Duration::ZERO);
        match state {
            GroupState::Healthy | GroupState::Succeeded => Outcome::Finished,
            GroupState::Failed { rank, status } => Outcome::Failed(self.failure(rank, status)),
            GroupState::Silent(silent) => Outcome::Failed(self.silence(&silent)),
            GroupState::Stopped { signal } => Outcome::Failed(LaunchError::Run {
                message: format!("stopped by signal {signal}; all workers were stopped"),
                code: (128 + signal).clamp(1, 255) as u8,
            }),
            GroupState::Decided(Decision::Restart(g)) => Outcome::Restart(g),
            GroupState::Decided(Decision::Abort(why)) => Outcome::Aborted(why),
            GroupState::Decided(Decision::Continue) => Outcome::Finished,
        }
    }

    /// Looks at the stop signal and at every worker's exit.
    fn poll(&mut self) -> Result<GroupState, LaunchError> {
        let signal = STOP_SIGNAL.load(Ordering::SeqCst);
        if signal != 0 {
            return Ok(GroupState::Stopped { signal });
        }
        for (i, w) in self.workers.iter_mut().enumerate() {
            if self.exited[i].is_some() {
                continue;
            }
            let status = w
                .child
                .try_wait()
                .map_err(|e| LaunchError::run(format!("watching rank {}: {e}", w.rank)))?;
            if let Some(status) = status {
                self.exited[i] = Some(status);
                if !status.success() {
                    return Ok(GroupState::Failed {
                        rank: w.rank,
                        status,
                    });
                }
            }
        }
        Ok(if self.exited.iter().all(Option::is_some) {
            GroupState::Succeeded
        } else {
            GroupState::Healthy
        })
    }

    /// The first running rank whose heartbeat stopped, if any.
    fn silent_rank(&mut self) -> Option<Silent> {
        let monitor = self.heartbeat.as_mut()?;
        let running: Vec<usize> = self
            .workers
            .iter()
            .zip(&self.exited)
            .filter(|(_, exited)| exited.is_none())
            .map(|(w, _)| w.rank)
            .collect();
        monitor.silent_rank(|rank| running.contains(&rank))
    }

    /// SIGTERM to every running worker's group, GRACE to exit, then SIGKILL; reaps them all.
    fn stop_all(&mut self) {
        let running = |exited: &[Option<ExitStatus>]| -> Vec<usize> {
            (0..exited.len()).filter(|&i| exited[i].is_none()).collect()
        };
        for i in running(&self.exited) {
            signal_group(self.workers[i].pgid(), libc::SIGTERM);
        }
        let deadline = Instant::now() + GRACE;
        while !running(&self.exited).is_empty() && Instant::now() < deadline {
            self.relay(POLL);
            for i in running(&self.exited) {
                if let Ok(Some(status)) = self.workers[i].child.try_wait() {
                    self.exited[i] = Some(status);
                }
            }
        }
        for i in running(&self.exited) {
            signal_group(self.workers[i].pgid(), libc::SIGKILL);
            self.exited[i] = self.workers[i].child.wait().ok();
        }
    }

    /// Prints waiting output lines with their rank, keeping each rank's last lines.
    fn relay(&mut self, wait: Duration) {
        let first = match self.lines.recv_timeout(wait) {
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => None,
        };
        for line in first.into_iter().chain(self.lines.try_iter()) {
            if line.stderr {
                let text = crate::logging::relay_line(line.rank, &line.text);
                let _ = writeln!(std::io::stderr(), "{text}");
            } else {
                let _ = writeln!(std::io::stdout(), "[rank {}] {}", line.rank, line.text);
            }
            if let Some(tail) = self.tails.get_mut(line.rank) {
                if tail.len() == TAIL {
                    tail.pop_front();
                }
                tail.push_back(line.text);
            }
        }
    }

    fn silence(&self, silent: &Silent) -> LaunchError {
        let timeout = self
            .heartbeat
            .as_ref()
            .map_or(0.0, |m| m.timeout().as_secs_f64());
        let mut message = format!(
            "rank {} stopped responding: no heartbeat for {} s (dist.heartbeat_timeout = {timeout} \
             s; {} beats before): it is frozen, stopped (SIGSTOP) or cut off from the store; \
             stopped the other workers",
            silent.rank, silent.for_secs, silent.beats
        );
        self.append_tail(&mut message, silent.rank);
        LaunchError::Run { message, code: 1 }
    }

    fn append_tail(&self, message: &mut String, rank: usize) {
        if let Some(tail) = self.tails.get(rank).filter(|t| !t.is_empty()) {
            message.push_str(&format!("\nlast lines of rank {rank}:"));
            for line in tail {
                message.push_str(&format!("\n  {line}"));
            }
        }
    }

    fn failure(&self, rank: usize, status: ExitStatus) -> LaunchError {
        let (what, code) = match (status.code(), status.signal()) {
            (Some(c), _) => (format!("rank {rank} exited with code {c}"), c),
            (None, Some(s)) => (format!("rank {rank} was killed by signal {s}"), 1),
            (None, None) => (format!("rank {rank} failed ({status})"), 1),
        };
        let mut message = format!("{what}; stopped the other workers");
        self.append_tail(&mut message, rank);
        // A config error in a worker stays a config error (2); anything else is a failed run.
        let code = if code == 2 { 2 } else { 1 };
        LaunchError::Run { message, code }
    }
}

/// Forwards `stream`'s lines to the monitor until the worker closes it.
fn pump(
    stream: impl Read + Send + 'static,
    rank: usize,
    stderr: bool,
    tx: Sender<Line>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buf).trim_end().to_string();
                    if tx.send(Line { rank, stderr, text }).is_err() {
                        return;
                    }
                }
            }
        }
    })
}
