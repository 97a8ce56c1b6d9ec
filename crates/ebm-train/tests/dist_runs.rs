//! Multi-rank runs end to end: chains are exchanged without loss or duplication, ranks keep
//! bit-identical weights, a 2-rank checkpoint resumes exactly (and re-shards onto 1 rank), and a
//! failing rank fails the run with its rank named instead of hanging.

use candle_core::{DType, Device, Tensor};
use ebm_core::{
    register_loss, rng, ChainBank, ChainInit, Loss, LossOut, Model, PluginArgs,
    Result as CoreResult, TrainCtx,
};
use ebm_dist::{Collective, LocalGroup};
use ebm_train::dist::exchange_chains;
mod common;

use common::{FinishMarker, MarkerReport};
use ebm_train::{checkpoint, load, run_local_ranks, Error, LoadedConfig, NoHooks, Start, Trainer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const PCD: &str = r#"
seed = 5
[model]
kind = "mlp"
hidden = [16, 16]
[data]
kind = "two_moons"
n_samples = 512
[loss]
kind = "contrastive_divergence"
k = 5
buffer_capacity = 200
[train]
steps = 20
batch_size = 32
log_every = 1
plot_every = 0
checkpoint_every = 10
keep_checkpoints = 5
[eval]
n_samples = 64
steps = 5
[dist]
exchange_every = 3
check_every = 1
"#;

fn loaded(dir: &Path, text: &str, sets: &[&str]) -> LoadedConfig {
    ebm_samplers::link();
    ebm_losses::link();
    let p = dir.join("run.toml");
    std::fs::write(&p, text).unwrap();
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    load(&p, &sets).unwrap()
}

/// Chain `k` of `[n, 2]` is `(k, -k)`: its tag and a check that rows stay whole.
fn tagged(from: usize, n: usize) -> Tensor {
    let v: Vec<f32> = (from..from + n)
        .flat_map(|k| [k as f32, -(k as f32)])
        .collect();
    Tensor::from_vec(v, (n, 2), &Device::Cpu).unwrap()
}

#[test]
fn after_an_exchange_every_chain_exists_exactly_once() {
    let sizes = [4usize, 5, 7];
    let total: usize = sizes.iter().sum();
    let threads: Vec<_> = LocalGroup::new(3)
        .into_iter()
        .map(|c| {
            std::thread::spawn(move || {
                let r = c.rank();
                let mut bank =
                    ChainBank::new(1, &[2], ChainInit::default(), &mut rng::stream(0, "t", 0));
                let from: usize = sizes[..r].iter().sum();
                bank.set_chains(&tagged(from, sizes[r])).unwrap();
                exchange_chains(&c, &mut bank, 9, 30).unwrap();
                let once = bank
                    .to_tensor(&Device::Cpu)
                    .unwrap()
                    .to_vec2::<f32>()
                    .unwrap();
                exchange_chains(&c, &mut bank, 9, 60).unwrap();
                let twice = bank
                    .to_tensor(&Device::Cpu)
                    .unwrap()
                    .to_vec2::<f32>()
                    .unwrap();
                (r, once, twice)
            })
        })
        .collect();
    let mut results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    results.sort_by_key(|r| r.0);
    for pick in [
        |r: &(usize, Vec<Vec<f32>>, Vec<Vec<f32>>)| r.1.clone(),
        |r: &(usize, Vec<Vec<f32>>, Vec<Vec<f32>>)| r.2.clone(),
    ] {
        let shards: Vec<Vec<Vec<f32>>> = results.iter().map(pick).collect();
        // Dealt evenly: 16 chains over 3 ranks.
        assert_eq!(
            shards.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![6, 5, 5]
        );
        let mut tags: Vec<usize> = shards
            .iter()
            .flatten()
            .map(|row| {
                assert_eq!(row[0], -row[1], "a chain was torn apart: {row:?}");
                row[0] as usize
            })
            .collect();
        tags.sort();
        assert_eq!(
            tags,
            (0..total).collect::<Vec<_>>(),
            "each chain exactly once"
        );
        // Chains actually moved between ranks.
        let rank0: Vec<usize> = shards[0].iter().map(|r| r[0] as usize).collect();
        assert!(rank0.iter().any(|&k| k >= sizes[0]), "{rank0:?}");
    }
}

/// Every rank's final weights and report, from trainers driven by hand over one group. Ranks
/// other than 0 are given `elsewhere` as their run folder, which they must never create.
fn train_ranks(
    loaded: &LoadedConfig,
    run: &Path,
    elsewhere: &Path,
    ranks: usize,
) -> Vec<(Vec<Vec<f32>>, MarkerReport)> {
    ebm_core::ensure_double_backward();
    std::thread::scope(|s| {
        let threads: Vec<_> = LocalGroup::new(ranks)
            .into_iter()
            .map(|c| {
                s.spawn(move || {
                    let dir = if c.rank() == 0 { run } else { elsewhere };
                    let coll: Arc<dyn Collective> = Arc::new(c);
                    let mut t = Trainer::new_distributed(loaded, dir, Start::Fresh, coll).unwrap();
                    let report = t.run(&mut FinishMarker::default()).unwrap().eval;
                    let weights = t
                        .state()
                        .model
                        .params()
                        .iter()
                        .map(|p| {
                            p.var
                                .as_tensor()
                                .flatten_all()
                                .unwrap()
                                .to_vec1::<f32>()
                                .unwrap()
                        })
                        .collect::<Vec<_>>();
                    (weights, report)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    })
}

#[test]
fn ranks_end_with_bit_identical_weights_and_only_rank_0_writes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = loaded(dir.path(), PCD, &["dist.check_every=0"]);
    let run = dir.path().join("run");
    let elsewhere = dir.path().join("not-rank-0");
    let (weights, reports): (Vec<_>, Vec<_>) =
        train_ranks(&cfg, &run, &elsewhere, 3).into_iter().unzip();
    assert!(
        !elsewhere.exists(),
        "a rank other than 0 wrote its run folder"
    );
    for (r, w) in weights.iter().enumerate().skip(1) {
        let same = w
            .iter()
            .zip(&weights[0])
            .all(|(a, b)| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()));
        assert!(same, "rank {r}'s weights differ from rank 0's");
    }
    // Rank 0's hooks finished the run in its folder, and every rank got their report.
    assert!(run.join("finished").is_file());
    for (r, report) in reports.iter().enumerate() {
        assert_eq!(report.step, 20, "rank {r}");
    }
    // The final checkpoint holds all three shards of the chain bank.
    let ckpt = checkpoint::load(
        &run.join("checkpoints").join(checkpoint::file_name(20)),
        &Device::Cpu,
    )
    .unwrap();
    assert_eq!(ckpt.tensors["bank.chains"].dims(), &[600, 2]);
    assert_eq!(ckpt.meta["dist.world_size"], "3");
    assert!(ckpt.meta.contains_key("rank2.rng.sampler"));
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn two_rank_checkpoint_resumes_exactly_and_reshards_onto_one_rank() {
    let dir = tempfile::tempdir().unwrap();
    let full = loaded(dir.path(), PCD, &[]);
    let a = dir.path().join("uninterrupted");
    run_local_ranks(&full, &a, Start::Fresh, 2, NoHooks).unwrap();

    let b = dir.path().join("resumed");
    let half = loaded(dir.path(), PCD, &["train.steps=10"]);
    run_local_ranks(&half, &b, Start::Fresh, 2, NoHooks).unwrap();
    let c = dir.path().join("resharded");
    std::fs::create_dir(&c).unwrap();
    copy_dir(&b, &c);
    let full = loaded(dir.path(), PCD, &[]);
    run_local_ranks(&full, &b, Start::Resume, 2, NoHooks).unwrap();

    assert_eq!(read(a.join("metrics.jsonl")), read(b.join("metrics.jsonl")));
    let last = |run: &Path| {
        checkpoint::load(
            &run.join("checkpoints").join(checkpoint::file_name(20)),
            &Device::Cpu,
        )
        .unwrap()
    };
    let (ca, cb) = (last(&a), last(&b));
    assert_eq!(ca.meta, cb.meta);
    let mut keys: Vec<_> = ca.tensors.keys().collect();
    keys.sort();
    assert_eq!(keys.len(), cb.tensors.len());
    for k in keys {
        let bits = |t: &Tensor| -> Vec<u32> {
            let t = t.flatten_all().unwrap();
            match t.dtype() {
                DType::U32 => t.to_vec1::<u32>().unwrap(),
                _ => t
                    .to_dtype(DType::F32)
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap()
                    .iter()
                    .map(|x| x.to_bits())
                    .collect(),
            }
        };
        assert_eq!(bits(&ca.tensors[k]), bits(&cb.tensors[k]), "{k}");
    }

    // The same step-10 checkpoint continued on one rank: it holds the union of both shards.
    let summary = run_local_ranks(&full, &c, Start::Resume, 1, NoHooks).unwrap();
    assert_eq!(summary.steps, 20);
    let cc = last(&c);
    assert_eq!(cc.tensors["bank.chains"].dims(), &[400, 2]);
    assert!(!cc.meta.contains_key("rank1.rng.sampler"));

    // And the other way: a single-rank checkpoint continued on two ranks splits its chains.
    let d = dir.path().join("split");
    run_local_ranks(&half, &d, Start::Fresh, 1, NoHooks).unwrap();
    run_local_ranks(&full, &d, Start::Resume, 2, NoHooks).unwrap();
    let cd = last(&d);
    assert_eq!(cd.tensors["bank.chains"].dims(), &[200, 2]);
    assert_eq!(cd.meta["dist.bank_sizes"], "100,100");
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

/// Mean energy, except on the thread of rank 1 (named by `run_local_ranks`) at step 3, where it
/// errors, or panics for the `panic` variant.
struct FailsOnRank1 {
    panic: bool,
}

impl Loss for FailsOnRank1 {
    fn name(&self) -> &'static str {
        "fails_on_rank_1"
    }
    fn forward(
        &mut self,
        model: &dyn Model,
        batch: &Tensor,
        ctx: &mut TrainCtx,
    ) -> CoreResult<LossOut> {
        if ctx.step == 3 && std::thread::current().name() == Some("ebm-rank-1") {
            if self.panic {
                panic!("loss blew up");
            }
            return Err(ebm_core::Error::Msg("injected failure".into()));
        }
        Ok(LossOut {
            loss: model.energy(batch)?.mean_all()?,
            metrics: vec![],
        })
    }
}

fn build_fail(args: &PluginArgs) -> CoreResult<Box<dyn Loss>> {
    let panic = args
        .spec
        .params
        .get("panic")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    Ok(Box::new(FailsOnRank1 { panic }))
}
register_loss!("fails_on_rank_1", build_fail);

#[test]
fn a_failing_rank_fails_the_run_with_its_rank_named() {
    for (variant, expect) in [("false", "injected failure"), ("true", "loss blew up")] {
        let dir = tempfile::tempdir().unwrap();
        let text = PCD.replace(
            "kind = \"contrastive_divergence\"\nk = 5\nbuffer_capacity = 200",
            &format!("kind = \"fails_on_rank_1\"\npanic = {variant}"),
        );
        let cfg = loaded(dir.path(), &text, &[]);
        let run = dir.path().join("run");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| {
                tx.send(run_local_ranks(&cfg, &run, Start::Fresh, 3, NoHooks))
                    .unwrap()
            });
            let err = rx
                .recv_timeout(Duration::from_secs(120))
                .expect("run_local_ranks hung after a rank failed")
                .unwrap_err();
            let msg = err.to_string();
            assert!(msg.starts_with("rank 1"), "{msg}");
            assert!(msg.contains(expect), "{msg}");
            assert!(matches!(
                err,
                Error::Rank { rank: 1, .. } | Error::RankPanicked { rank: 1, .. }
            ));
        });
    }
}

#[test]
fn dist_config_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("run.toml");
    for (extra, key) in [("rank = 2", "dist.rank"), ("ranks = 0", "dist.ranks")] {
        std::fs::write(&p, format!("{PCD}{extra}\n")).unwrap();
        let err = match load(&p, &[]) {
            Ok(_) => panic!("`{extra}` was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(key), "{err}");
    }
    let err = run_local_ranks(
        &loaded(dir.path(), PCD, &[]),
        &dir.path().join("r"),
        Start::Fresh,
        0,
        NoHooks,
    )
    .unwrap_err();
    assert!(
        err.is_config() && err.to_string().contains("dist.ranks"),
        "{err}"
    );
    // Rank 0 refusing an existing run folder fails the run as a config error, not a hang.
    let cfg = loaded(dir.path(), PCD, &["train.steps=2"]);
    let run = dir.path().join("taken");
    run_local_ranks(&cfg, &run, Start::Fresh, 2, NoHooks).unwrap();
    let err = run_local_ranks(&cfg, &run, Start::Fresh, 2, NoHooks).unwrap_err();
    assert!(err.is_config(), "{err}");
    assert!(err.to_string().starts_with("rank 0: run folder"), "{err}");
}

/// Mean energy, NaN on rank 1's thread at step 7.
struct NanOnRank1;

impl Loss for NanOnRank1 {
    fn name(&self) -> &'static str {
        "nan_on_rank_1"
    }
    fn forward(
        &mut self,
        model: &dyn Model,
        batch: &Tensor,
        ctx: &mut TrainCtx,
    ) -> CoreResult<LossOut> {
        let e = model.energy(batch)?.mean_all()?;
        let nan = ctx.step == 6 && std::thread::current().name() == Some("ebm-rank-1");
        Ok(LossOut {
            loss: if nan { (e * f64::NAN)? } else { e },
            metrics: vec![],
        })
    }
}

fn build_nan(_: &PluginArgs) -> CoreResult<Box<dyn Loss>> {
    Ok(Box::new(NanOnRank1))
}
register_loss!("nan_on_rank_1", build_nan);

#[test]
fn a_nan_on_one_rank_stops_every_rank_at_the_same_step_with_rank_0_advice() {
    let dir = tempfile::tempdir().unwrap();
    let text = PCD
        .replace(
            "kind = \"contrastive_divergence\"\nk = 5\nbuffer_capacity = 200",
            "kind = \"nan_on_rank_1\"",
        )
        .replace("checkpoint_every = 10", "checkpoint_every = 5");
    let cfg = loaded(dir.path(), &text, &[]);
    let err = run_local_ranks(&cfg, &dir.path().join("run"), Start::Fresh, 2, NoHooks).unwrap_err();
    match &err {
        Error::Rank { rank: 0, source } => match source.as_ref() {
            Error::Diverged { step, advice, .. } => {
                assert_eq!(*step, 7);
                assert!(advice.contains("step_0000005.safetensors"), "{advice}");
            }
            other => panic!("expected Diverged, got {other}"),
        },
        other => panic!("expected rank 0's divergence, got {other}"),
    }
}
