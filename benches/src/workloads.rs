//! The named workloads of the side-by-side comparison with TorchEBM (`benches/compare/`), each
//! sized as the anchor's bench in `shared/anchors/torchebm` and run through the same public API
//! as the criterion benches, plus the anchor's timing protocol: warm-up excluded, and before each
//! timed repeat a wait until the machine is quiet, with repeats redone when other processes used
//! the CPUs while they ran (`common.py`'s contention guard, same thresholds).
//!
//! | name | what one repeat does | unit |
//! |---|---|---|
//! | `langevin_10k` | Langevin η = 0.01, 10,000 chains × 200 steps | chain-steps/s |
//! | `langevin_10` | Langevin η = 0.01, 10 chains × 2,000 steps | chain-steps/s |
//! | `hmc_1k` | HMC L = 10, ε = 0.01, 1,000 chains × 100 proposals | chain-steps/s (proposals) |
//! | `pcd_two_moons` | PCD two moons, batch 256, k = 10: 500 iterations from a fresh state | it/s |
//! | `conv_grad_b64` | ∇ₓE of the conv energy at 64 × 3 × 32 × 32: 10 evaluations | ms per ∇ₓE |
//! | `cd_conv_fmnist` | examples/fashion_mnist.toml, batch 64, k = 40 from the replay buffer: 5 iterations | it/s |
//! | `cd_resnet_cifar` | examples/cifar_ebm.toml at batch 64 (k = 60, spectral norm) on generated CIFAR-format data: 1 iteration | it/s |
//!
//! The MLP is [`crate::anchor_mlp`] (2-128-128-1 SiLU), the PCD run [`crate::PCD_TWO_MOONS`], the
//! conv energy `[model] kind = "conv"` with its default layers (the anchor's `ConvEnergy`).

use candle_core::{Device, Tensor};
use ebm_core::{build_sampler, rng, run_chains, Chains, Energy, Model, PluginSpec, Sampler};
use ebm_models::{ConvConfig, ConvNet};
use ebm_train::{load, train_step, LoadedConfig, TrainState};
use std::time::{Duration, Instant};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, BoxError>;

/// A named workload: what the comparison reports for it.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub name: &'static str,
    /// The unit of the reported figure.
    pub unit: &'static str,
    /// True for a time per unit (ms per ∇ₓE), false for a throughput.
    pub lower_is_better: bool,
    /// Steps, proposals, iterations or evaluations per repeat when not overridden.
    pub default_len: u64,
    /// Chains, or the batch.
    pub batch: usize,
    pub describe: &'static str,
}

pub const SPECS: &[Spec] = &[
    Spec {
        name: "langevin_10k",
        unit: "chain-steps/s",
        lower_is_better: false,
        default_len: 200,
        batch: 10_000,
        describe: "Langevin eta=0.01, MLP 2-128-128-1 SiLU, 10,000 chains x 200 steps",
    },
    Spec {
        name: "langevin_10",
        unit: "chain-steps/s",
        lower_is_better: false,
        default_len: 2_000,
        batch: 10,
        describe: "Langevin eta=0.01, MLP 2-128-128-1 SiLU, 10 chains x 2,000 steps",
    },
    Spec {
        name: "hmc_1k",
        unit: "chain-steps/s",
        lower_is_better: false,
        default_len: 100,
        batch: 1_000,
        describe: "HMC L=10 eps=0.01, MLP 2-128-128-1 SiLU, 1,000 chains x 100 proposals",
    },
    Spec {
        name: "pcd_two_moons",
        unit: "it/s",
        lower_is_better: false,
        default_len: 500,
        batch: 256,
        describe: "PCD two moons, batch 256, k=10 Langevin eta=0.01, buffer 10,000, Adam 1e-3",
    },
    Spec {
        name: "conv_grad_b64",
        unit: "ms/grad",
        lower_is_better: true,
        default_len: 10,
        batch: 64,
        describe: "conv energy grad_x E at 64 x 3 x 32 x 32 (3->64 k3, 64->128 k4 s2, 128->128 k4 s2, SiLU, mean pool, linear)",
    },
    Spec {
        name: "cd_conv_fmnist",
        unit: "it/s",
        lower_is_better: false,
        default_len: 5,
        batch: 64,
        describe: "examples/fashion_mnist.toml: conv 1->16 k3, 16->32 k4 s2, 32->64 k4 s2, 64->64 k7, swish: k=40 Langevin on 64 buffer chains (5% from noise) + CD update, Adam, clip, EMA",
    },
    Spec {
        name: "cd_resnet_cifar",
        unit: "it/s",
        lower_is_better: false,
        default_len: 1,
        batch: 64,
        describe: "examples/cifar_ebm.toml at batch 64: IGEBM ResNet 128/256/256 x 2 blocks, swish, spectral norm, sum pool: k=60 Langevin on 64 buffer chains + CD update, Adam, clip (generated CIFAR-format data)",
    },
];

pub fn spec(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == name)
}

/// One workload, ready to run: `prepare` is the untimed set-up of a repeat (fresh chains, a
/// fresh training state), `run` the timed part.
pub trait Workload {
    fn prepare(&mut self) -> Result<()>;
    fn run(&mut self) -> Result<()>;
}

/// Builds the workload `spec` with `len` steps / proposals / iterations / evaluations per repeat.
pub fn build(spec: &Spec, len: u64) -> Result<Box<dyn Workload>> {
    ebm_samplers::link();
    ebm_losses::link();
    Ok(match spec.name {
        "langevin_10k" | "langevin_10" => {
            let mut s = PluginSpec::new("langevin");
            s.params.insert("step_size".into(), 0.01.into());
            Box::new(Sampling::new(&s, spec.batch, len)?)
        }
        "hmc_1k" => {
            let mut s = PluginSpec::new("hmc");
            s.params.insert("step_size".into(), 0.01.into());
            s.params.insert("n_leapfrog".into(), 10.into());
            Box::new(Sampling::new(&s, spec.batch, len)?)
        }
        "pcd_two_moons" => Box::new(Pcd::new(crate::PCD_TWO_MOONS, len)?),
        "cd_conv_fmnist" => {
            let data = std::env::var("EBM_FASHION_MNIST")
                .unwrap_or_else(|_| "/usr/share/datasets/fashion-mnist".into());
            let toml = crate::CD_CONV_FMNIST.replace("DATA_DIR", &data);
            Box::new(Pcd::new(&toml, len)?)
        }
        "cd_resnet_cifar" => Box::new(cd_resnet_cifar(spec.batch, &[], len)?),
        "conv_grad_b64" => Box::new(ConvGrad::new(spec.batch, len)?),
        other => return Err(format!("unknown workload {other}").into()),
    })
}

/// `len` sampler steps on `chains` chains from the same N(0, I) start every repeat (the anchor's
/// `sampler.sample(x=x0, n_steps=steps)`).
struct Sampling {
    sampler: Box<dyn Sampler>,
    view: Box<dyn Energy>,
    x0: Tensor,
    chains: Option<Chains>,
    steps: u64,
    rng: ebm_core::Rng,
}

impl Sampling {
    fn new(spec: &PluginSpec, n_chains: usize, steps: u64) -> Result<Self> {
        let model = crate::anchor_mlp();
        Ok(Sampling {
            sampler: build_sampler("sampler", spec)?,
            view: model.detached(),
            x0: rng::randn(&mut rng::stream(1, "x", 0), &[n_chains, 2], &Device::Cpu)?,
            chains: None,
            steps,
            rng: rng::stream(0, "bench", 0),
        })
    }
}

impl Workload for Sampling {
    fn prepare(&mut self) -> Result<()> {
        self.chains = Some(Chains::new(self.x0.clone()));
        Ok(())
    }

    fn run(&mut self) -> Result<()> {
        let chains = self.chains.as_mut().ok_or("prepare was not called")?;
        run_chains(
            self.sampler.as_mut(),
            self.view.as_ref(),
            chains,
            self.steps,
            &mut self.rng,
        )?;
        Ok(())
    }
}

/// `len` training iterations (`train_step`) of the run `toml` from a fresh state (weights, chain
/// bank, optimizer) every repeat, as the anchor's bench (c) times its training loop without the
/// buffer's set-up.
struct Pcd {
    loaded: LoadedConfig,
    state: Option<TrainState>,
    iters: u64,
}

impl Pcd {
    fn new(toml: &str, iters: u64) -> Result<Self> {
        Self::with_sets(toml, &[], iters)
    }

    /// The run `toml` with `--set` overrides `sets`.
    fn with_sets(toml: &str, sets: &[String], iters: u64) -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("ebm-compare-pcd-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("pcd.toml");
        std::fs::write(&path, toml)?;
        let loaded = load(&path, sets);
        std::fs::remove_dir_all(&dir)?;
        Ok(Pcd {
            loaded: loaded?,
            state: None,
            iters,
        })
    }
}

impl Workload for Pcd {
    fn prepare(&mut self) -> Result<()> {
        self.state = None; // free the previous repeat's state before building the next
        self.state = Some(TrainState::new(&self.loaded.config, &Device::Cpu)?);
        Ok(())
    }

    fn run(&mut self) -> Result<()> {
        let state = self.state.as_mut().ok_or("prepare was not called")?;
        for _ in 0..self.iters {
            train_step(state, &self.loaded.config)?;
        }
        Ok(())
    }
}

/// `len` training iterations of `examples/cifar_ebm.toml` at `batch` on generated CIFAR-format
/// files, with further `--set` overrides `sets` (the unit test shrinks the ResNet with them).
fn cd_resnet_cifar(batch: usize, sets: &[&str], len: u64) -> Result<Pcd> {
    let data = crate::cifar_format_noise(&std::env::temp_dir().join("ebm-compare-cifar"))?;
    let mut all = vec![
        format!("data.dir={:?}", data.display().to_string()),
        format!("train.batch_size={batch}"),
    ];
    all.extend(sets.iter().map(|s| s.to_string()));
    Pcd::with_sets(crate::CIFAR_EBM, &all, len)
}

/// `len` evaluations of ∇ₓE of the conv energy on the same U(−1, 1) batch (the anchor's
/// `model.gradient(x)` in bench (f)).
struct ConvGrad {
    view: Box<dyn Energy>,
    x: Tensor,
    evals: u64,
}

impl ConvGrad {
    fn new(batch: usize, evals: u64) -> Result<Self> {
        let shape = [3, 32, 32];
        let model = ConvNet::new(
            &ConvConfig::default(),
            &shape,
            &mut rng::stream(0, "init", 0),
            &Device::Cpu,
        )?;
        let x = rng::rand_uniform(
            &mut rng::stream(1, "x", 0),
            &[batch, 3, 32, 32],
            -1.0,
            1.0,
            &Device::Cpu,
        )?;
        Ok(ConvGrad {
            view: model.detached(),
            x,
            evals,
        })
    }
}

impl Workload for ConvGrad {
    fn prepare(&mut self) -> Result<()> {
        Ok(())
    }

    fn run(&mut self) -> Result<()> {
        for _ in 0..self.evals {
            let g = self.view.grad(&self.x)?;
            std::hint::black_box(g);
        }
        Ok(())
    }
}

// --- contention guard (common.py's, same thresholds) -----------------------------------------

/// `/proc/stat` and `/proc/<pid>/stat` count in USER_HZ, which is 100 on Linux.
const USER_HZ: f64 = 100.0;

/// The guard's settings; `Guard::default()` is the anchor's.
#[derive(Clone, Copy, Debug)]
pub struct Guard {
    /// Off: no waiting, every repeat kept (for machines without /proc, or a quick try).
    pub enabled: bool,
    /// Wait before a repeat until other processes use less than this many cores over 1 s…
    pub quiet_cores: f64,
    /// …or at most this long.
    pub max_wait: Duration,
    /// A repeat during which other processes used more cores than this is redone…
    pub max_foreign: f64,
    /// …or during which hypervisor steal exceeded this fraction of the vCPUs' time.
    pub max_steal: f64,
}

impl Default for Guard {
    fn default() -> Self {
        Guard {
            enabled: true,
            quiet_cores: 0.15,
            max_wait: Duration::from_secs(600),
            max_foreign: 0.15,
            max_steal: 0.05,
        }
    }
}

/// (busy, steal) jiffies of the whole machine.
fn machine_jiffies() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/stat").ok()?;
    let v: Vec<u64> = s
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal
    Some((v[0] + v[1] + v[2] + v[5] + v[6], *v.get(7)?))
}

/// utime + stime of this process (all threads), in jiffies.
fn self_jiffies() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    let v: Vec<&str> = s.rsplit_once(')')?.1.split_whitespace().collect();
    Some(v.get(11)?.parse::<u64>().ok()? + v.get(12)?.parse::<u64>().ok()?)
}

/// CPU seconds used by other processes, and the steal fraction, while `f` ran.
fn foreign<T>(f: impl FnOnce() -> T) -> (T, f64, f64, f64) {
    let (m0, s0, t0) = (machine_jiffies(), self_jiffies(), Instant::now());
    let out = f();
    let wall = t0.elapsed().as_secs_f64().max(1e-9);
    let (m1, s1) = (machine_jiffies(), self_jiffies());
    let (mut cpu, mut steal) = (0.0, 0.0);
    if let (Some((b0, st0)), Some(s0), Some((b1, st1)), Some(s1)) = (m0, s0, m1, s1) {
        let ours = s1.saturating_sub(s0);
        cpu = (b1.saturating_sub(b0)).saturating_sub(ours) as f64 / USER_HZ;
        let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        steal = st1.saturating_sub(st0) as f64 / USER_HZ / (wall * ncpu);
    }
    (out, wall, cpu, steal)
}

/// Blocks until other processes use fewer than `quiet_cores` over 1 s, or `max_wait` passed;
/// returns the seconds waited.
fn wait_quiet(g: &Guard) -> f64 {
    let t0 = Instant::now();
    loop {
        let (_, wall, cpu, _) = foreign(|| std::thread::sleep(Duration::from_secs(1)));
        if cpu / wall < g.quiet_cores || t0.elapsed() > g.max_wait {
            return t0.elapsed().as_secs_f64();
        }
    }
}

/// The timed repeats of one workload.
#[derive(Clone, Debug, Default)]
pub struct Measured {
    /// Seconds of each kept repeat.
    pub times: Vec<f64>,
    /// Timed attempts, kept or redone.
    pub attempts: usize,
    /// Attempts redone because the machine was busy.
    pub discarded: usize,
    /// Largest foreign load among the kept repeats, in cores.
    pub max_foreign_kept: f64,
    pub max_steal_kept: f64,
    /// Seconds spent waiting for a quiet machine.
    pub waited_s: f64,
}

/// Runs `warmup` untimed repeats, then `repeats` timed ones under the guard (at most
/// 4 × `repeats` attempts, the last ones kept whatever the load, as in `common.timeit`).
pub fn measure(
    w: &mut dyn Workload,
    repeats: usize,
    warmup: usize,
    guard: &Guard,
) -> Result<Measured> {
    for _ in 0..warmup {
        w.prepare()?;
        w.run()?;
    }
    let mut m = Measured::default();
    while m.times.len() < repeats {
        w.prepare()?;
        if guard.enabled {
            m.waited_s += wait_quiet(guard);
        }
        let (r, wall, cpu, steal) = foreign(|| {
            let t0 = Instant::now();
            w.run().map(|()| t0.elapsed().as_secs_f64())
        });
        let dt = r?;
        m.attempts += 1;
        let busy = cpu / wall > guard.max_foreign || steal > guard.max_steal;
        if guard.enabled && busy && m.attempts < 4 * repeats {
            m.discarded += 1;
            continue;
        }
        m.max_foreign_kept = m.max_foreign_kept.max(cpu / wall);
        m.max_steal_kept = m.max_steal_kept.max(steal);
        m.times.push(dt);
    }
    Ok(m)
}

pub fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}

/// A field of `/proc/self/status` in kB (`VmRSS`, `VmHWM`), where there is one.
pub fn proc_status_kb(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_builds_and_runs_once() {
        for s in SPECS {
            // The full ResNet iteration takes minutes even in release: a narrow one, k = 1.
            let mut w: Box<dyn Workload> = match s.name {
                "cd_resnet_cifar" => Box::new(
                    cd_resnet_cifar(
                        4,
                        &[
                            "model.channels=[8,16,16]",
                            "loss.k=1",
                            "loss.buffer_capacity=16",
                        ],
                        1,
                    )
                    .expect("builds"),
                ),
                _ => build(s, 1).expect("builds"),
            };
            let m = measure(
                w.as_mut(),
                1,
                0,
                &Guard {
                    enabled: false,
                    ..Guard::default()
                },
            )
            .expect("runs");
            assert_eq!(m.times.len(), 1, "{}", s.name);
        }
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
