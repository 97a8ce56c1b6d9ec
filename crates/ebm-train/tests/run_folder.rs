//! The run folder is safe to lose a process in: one writer at a time (an OS lock naming its
//! holder's pid), the fresh run's `config.toml` is never rewritten (a resume that changes the
//! config records `config.resume-N.toml` once it has saved a checkpoint), a run that stopped
//! before its first checkpoint resumes from step 0, checkpoint writes leave no temp files, and
//! two identical runs write byte-identical checkpoints.

use ebm_train::{checkpoint, load, LoadedConfig, NoHooks, RunDir, Start, TrainState, Trainer};
use std::path::{Path, PathBuf};

const SMALL: &str = r#"
seed = 7
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
steps = 10
batch_size = 32
log_every = 1
plot_every = 0
checkpoint_every = 5
keep_checkpoints = 5
[eval]
n_samples = 64
steps = 5
"#;

fn loaded(dir: &Path, sets: &[&str]) -> LoadedConfig {
    ebm_samplers::link();
    ebm_losses::link();
    let p = dir.join("small.toml");
    std::fs::write(&p, SMALL).unwrap();
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    load(&p, &sets).unwrap()
}

fn train(loaded: &LoadedConfig, run: &Path, start: Start) {
    Trainer::new(loaded, run, start)
        .unwrap()
        .run(&mut NoHooks)
        .unwrap();
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn resume_configs(run: &Path) -> Vec<String> {
    names(run)
        .into_iter()
        .filter(|n| n.starts_with("config.resume-"))
        .collect()
}

#[test]
fn a_run_folder_has_one_writer_and_the_refusal_names_its_pid() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let pid = std::process::id().to_string();
    let first = RunDir::create(&run).unwrap();
    assert!(first.is_locked());
    assert_eq!(
        std::fs::read_to_string(first.lock_file()).unwrap().trim(),
        pid
    );
    // A second fresh run and a resume of the held folder are refused (user input: exit 2),
    // naming the holder.
    for err in [
        RunDir::create(&run).unwrap_err(),
        RunDir::open(&run).unwrap_err(),
    ] {
        let text = err.to_string();
        assert!(err.is_user_input(), "{text}");
        assert!(
            text.contains("in use") && text.contains(&format!("pid {pid}")),
            "{text}"
        );
    }
    // A trainer holds the lock for its life.
    let cfg = loaded(tmp.path(), &[]);
    drop(first);
    let trainer = Trainer::new(&cfg, &run, Start::Resume).unwrap();
    let err = Trainer::new(&cfg, &run, Start::Resume).err().unwrap();
    assert!(err.to_string().contains(&format!("pid {pid}")), "{err}");
    drop(trainer);
    // Released: the folder can be resumed (and, holding a run, not started afresh).
    train(&cfg, &run, Start::Resume);
    let err = RunDir::create(&run).unwrap_err().to_string();
    assert!(err.contains("already holds a run"), "{err}");
    // A folder that is not a run gets no lock file from a refused resume.
    let plain = tmp.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    assert!(RunDir::open(&plain).is_err());
    assert!(names(&plain).is_empty(), "{:?}", names(&plain));
}

#[test]
fn a_resume_keeps_every_config_and_records_a_changed_one_with_its_first_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let ten = loaded(tmp.path(), &[]);
    train(&ten, &run, Start::Fresh);
    let original = std::fs::read(run.join("config.toml")).unwrap();
    // The resolved config reads back to the same text: a plain resume records nothing.
    let again = load(&run.join("config.toml"), &[]).unwrap();
    assert_eq!(again.config.to_toml().unwrap().as_bytes(), &original[..]);
    train(&again, &run, Start::Resume);
    assert!(resume_configs(&run).is_empty(), "{:?}", names(&run));

    // A resume with another config writes nothing before it has saved a checkpoint.
    let twenty = loaded(tmp.path(), &["train.steps=20"]);
    let trainer = Trainer::new(&twenty, &run, Start::Resume).unwrap();
    assert!(resume_configs(&run).is_empty(), "{:?}", names(&run));
    drop(trainer);
    assert_eq!(RunDir::config_in_force(&run), run.join("config.toml"));
    // ... and records it once it has.
    train(&twenty, &run, Start::Resume);
    assert_eq!(resume_configs(&run), ["config.resume-1.toml"]);
    assert_eq!(std::fs::read(run.join("config.toml")).unwrap(), original);
    let newest = RunDir::config_in_force(&run);
    assert_eq!(newest, run.join("config.resume-1.toml"));
    let text = std::fs::read_to_string(&newest).unwrap();
    assert!(text.contains("steps = 20"), "{text}");
    // The same config again records nothing new; another one is number 2.
    let in_force = load(&newest, &[]).unwrap();
    train(&in_force, &run, Start::Resume);
    assert_eq!(resume_configs(&run), ["config.resume-1.toml"]);
    let thirty = loaded(tmp.path(), &["train.steps=30"]);
    train(&thirty, &run, Start::Resume);
    assert_eq!(
        resume_configs(&run),
        ["config.resume-1.toml", "config.resume-2.toml"]
    );
    assert_eq!(std::fs::read(run.join("config.toml")).unwrap(), original);
    assert_eq!(
        RunDir::config_in_force(&run),
        run.join("config.resume-2.toml")
    );
}

#[test]
fn a_run_stopped_before_its_first_checkpoint_resumes_from_step_0() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = loaded(tmp.path(), &[]);
    let (whole, stopped) = (tmp.path().join("whole"), tmp.path().join("stopped"));
    train(&cfg, &whole, Start::Fresh);
    // Built (folder, config.toml, metrics.jsonl) but stopped before any checkpoint.
    drop(Trainer::new(&cfg, &stopped, Start::Fresh).unwrap());
    assert!(stopped.join("config.toml").is_file());
    assert!(checkpoint::list(&stopped.join("checkpoints"))
        .unwrap()
        .is_empty());
    let resumed = Trainer::new(&cfg, &stopped, Start::Resume).unwrap();
    assert_eq!(resumed.state().step, 0);
    drop(resumed);
    train(&cfg, &stopped, Start::Resume);
    // Exactly the run that never stopped.
    for f in ["metrics.jsonl", "config.toml"] {
        assert_eq!(
            std::fs::read(whole.join(f)).unwrap(),
            std::fs::read(stopped.join(f)).unwrap(),
            "{f}"
        );
    }
    assert!(resume_configs(&stopped).is_empty());
}

#[test]
fn identical_runs_write_byte_identical_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = loaded(tmp.path(), &[]);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    train(&cfg, &a, Start::Fresh);
    train(&cfg, &b, Start::Fresh);
    let files = |run: &Path| -> Vec<PathBuf> {
        checkpoint::list(&run.join("checkpoints"))
            .unwrap()
            .into_iter()
            .map(|(_, p)| p)
            .collect()
    };
    let (fa, fb) = (files(&a), files(&b));
    assert_eq!(fa.len(), 2, "{fa:?}");
    for (pa, pb) in fa.iter().zip(&fb) {
        assert_eq!(pa.file_name(), pb.file_name());
        assert!(
            std::fs::read(pa).unwrap() == std::fs::read(pb).unwrap(),
            "{} and {} differ",
            pa.display(),
            pb.display()
        );
    }
    // The metadata is written sorted by key, and the file reads back.
    let bytes = std::fs::read(&fa[1]).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(header.trim_end()).unwrap();
    let mut keys: Vec<&String> = parsed["__metadata__"].as_object().unwrap().keys().collect();
    keys.sort();
    let at: Vec<usize> = keys
        .iter()
        .map(|k| header.find(&format!("\"{k}\":")).unwrap())
        .collect();
    assert!(header.starts_with("{\"__metadata__\":{"), "{header}");
    assert!(
        keys.len() > 3 && at.windows(2).all(|w| w[0] < w[1]),
        "metadata not sorted by key: {header}"
    );
    let ckpt = checkpoint::load(&fa[1], &candle_core::Device::Cpu).unwrap();
    assert_eq!(ckpt.meta("step", &fa[1]).unwrap(), "10");
}

#[test]
fn checkpoint_writes_leave_no_temp_files() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = loaded(tmp.path(), &[]);
    let state = TrainState::new(&cfg.config, &candle_core::Device::Cpu).unwrap();
    let ckpt = state.to_checkpoint().unwrap();
    // The rename fails (a non-empty folder has the checkpoint's name): the temp file goes.
    let dir = tmp.path().join("ckpts");
    let blocker = dir.join(checkpoint::file_name(0));
    std::fs::create_dir_all(blocker.join("in-the-way")).unwrap();
    assert!(checkpoint::save(&dir, 0, &ckpt).is_err());
    assert_eq!(names(&dir), [checkpoint::file_name(0)]);
    // A successful write leaves the checkpoint alone.
    checkpoint::save(&dir, 5, &ckpt).unwrap();
    assert_eq!(
        names(&dir),
        [checkpoint::file_name(0), checkpoint::file_name(5)]
    );
    // The same for write_atomic: a failed writer's temp file is removed.
    let target = tmp.path().join("out.txt");
    let err = ebm_train::write_atomic(&target, |t| {
        std::fs::write(t, "half").unwrap();
        Err(ebm_train::Error::Config("writer failed".into()))
    });
    assert!(err.is_err());
    assert!(!tmp.path().join(".out.txt.tmp").exists() && !target.exists());

    // What a killed writer left behind is removed when the run is opened (under its lock).
    let run = tmp.path().join("run");
    train(&cfg, &run, Start::Fresh);
    let ckpts = run.join("checkpoints");
    let before = names(&ckpts);
    std::fs::write(ckpts.join(".tmpAb12Cd"), "").unwrap();
    std::fs::write(ckpts.join(".step_0000015.safetensors.tmp"), "partial").unwrap();
    drop(RunDir::open(&run).unwrap());
    assert_eq!(names(&ckpts), before);
}
