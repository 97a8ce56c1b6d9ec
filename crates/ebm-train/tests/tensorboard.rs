//! The TensorBoard event file: what [`EventWriter`] writes reads back (CRCs checked, damage
//! refused), a resume keeps each step once, TensorBoard's own reader accepts the file (when the
//! `tensorboard` Python package is installed), and a training run logs its metrics, energy
//! histograms, figures and config there — and nothing else changes (`metrics.jsonl` is the same
//! with `train.tensorboard = false`, which writes no `tb/`).

use ebm_train::tensorboard::proto::{Event, Kind, What};
use ebm_train::tensorboard::{self, event_files, read_events, EventWriter, FILE_PREFIX};
use ebm_train::{load, RunConfig, RunHooks, RunView, Start, Trainer};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A 3×2 RGB PNG.
const PNG_3X2: [u8; 73] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0x12, 0x16, 0xf1,
    0x4d, 0x00, 0x00, 0x00, 0x10, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xf8, 0xcf, 0xc0, 0xc0,
    0x00, 0xc1, 0x70, 0x16, 0x00, 0x3b, 0xd8, 0x05, 0xfb, 0x36, 0x11, 0x98, 0xea, 0x00, 0x00, 0x00,
    0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// The only event file of `dir`.
fn only_file(dir: &Path) -> PathBuf {
    let files = event_files(dir).unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    files.into_iter().next().unwrap()
}

/// Every value of every event of `dir`'s files: (step, tag, value).
fn values(dir: &Path) -> Vec<(i64, String, Kind)> {
    let mut out = Vec::new();
    for file in event_files(dir).unwrap() {
        for event in read_events(&file).unwrap() {
            if let Some(What::Summary(s)) = event.what {
                for v in s.value {
                    out.push((event.step, v.tag, v.kind.expect("a value")));
                }
            }
        }
    }
    out
}

/// (step, value) of one scalar tag.
fn scalar_series(values: &[(i64, String, Kind)], tag: &str) -> Vec<(i64, f32)> {
    values
        .iter()
        .filter(|(_, t, _)| t == tag)
        .filter_map(|(s, _, k)| match k {
            Kind::SimpleValue(v) => Some((*s, *v)),
            _ => None,
        })
        .collect()
}

/// Steps at which `tag` appears.
fn steps_of(values: &[(i64, String, Kind)], tag: &str) -> Vec<i64> {
    values
        .iter()
        .filter(|(_, t, _)| t == tag)
        .map(|(s, _, _)| *s)
        .collect()
}

#[test]
fn every_kind_of_value_reads_back_and_damage_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let tb = dir.path().join("tb");
    let mut w = EventWriter::create(&tb).unwrap();
    w.text("config", 0, "seed = 1").unwrap();
    w.scalars(1, &[("loss".into(), 0.5), ("lr".into(), 1e-3)])
        .unwrap();
    w.scalar("loss", 2, 0.25).unwrap();
    w.image_png("plots/landscape", 2, &PNG_3X2).unwrap();
    w.histogram("energy/data", 2, &[1.0, 2.0, 3.0, 4.0, f64::NAN])
        .unwrap();
    assert!(w.image_png("bad", 2, b"not a png").is_err());
    w.flush().unwrap();

    let path = only_file(&tb);
    assert_eq!(w.path(), path);
    let name = path.file_name().unwrap().to_str().unwrap();
    let rest = name.strip_prefix(FILE_PREFIX).unwrap();
    let (secs, host) = rest.split_once('.').unwrap();
    assert!(secs.parse::<u64>().unwrap() > 1_600_000_000, "{name}");
    assert!(!host.is_empty(), "{name}");

    let events = read_events(&path).unwrap();
    assert_eq!(
        events[0].what,
        Some(What::FileVersion("brain.Event:2".into()))
    );
    assert_eq!(
        events.len(),
        6,
        "file version + 5 summaries (the bad image wrote nothing)"
    );
    let vals = values(&tb);
    let tags: Vec<(i64, &str)> = vals.iter().map(|(s, t, _)| (*s, t.as_str())).collect();
    assert_eq!(
        tags,
        [
            (0, "config"),
            (1, "loss"),
            (1, "lr"),
            (2, "loss"),
            (2, "plots/landscape"),
            (2, "energy/data")
        ]
    );
    assert_eq!(scalar_series(&vals, "loss"), [(1, 0.5), (2, 0.25)]);
    assert_eq!(scalar_series(&vals, "lr"), [(1, 1e-3)]);
    match &vals[4].2 {
        Kind::Image(img) => {
            assert_eq!((img.width, img.height, img.colorspace), (3, 2, 3));
            assert_eq!(img.encoded_image_string, PNG_3X2);
        }
        other => panic!("expected an image, got {other:?}"),
    }
    match &vals[5].2 {
        Kind::Histo(h) => {
            assert_eq!((h.min, h.max, h.num, h.sum), (1.0, 4.0, 4.0, 10.0));
            assert_eq!(h.sum_squares, 30.0);
            assert_eq!(h.bucket.len(), tensorboard::HISTOGRAM_BUCKETS);
            assert_eq!(h.bucket.iter().sum::<f64>(), 4.0);
            assert_eq!(*h.bucket_limit.last().unwrap(), 4.0);
        }
        other => panic!("expected a histogram, got {other:?}"),
    }
    match &vals[0].2 {
        Kind::Tensor(t) => {
            assert_eq!(t.dtype, tensorboard::proto::DT_STRING);
            assert_eq!(t.string_val, [b"seed = 1".to_vec()]);
        }
        other => panic!("expected a text tensor, got {other:?}"),
    }

    // Any byte changed anywhere, or a file cut short, and the reader refuses it.
    let bytes = std::fs::read(&path).unwrap();
    for at in [3, 9, 20, bytes.len() / 2, bytes.len() - 2] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x01;
        std::fs::write(&path, &bad).unwrap();
        assert!(read_events(&path).is_err(), "byte {at} changed unnoticed");
    }
    std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
    let e = read_events(&path).unwrap_err();
    assert!(e.to_string().contains("cut short"), "{e}");
}

#[test]
fn a_resume_keeps_each_step_once() {
    let dir = tempfile::tempdir().unwrap();
    let tb = dir.path().join("tb");
    let mut w = EventWriter::create(&tb).unwrap();
    w.text("config", 0, "seed = 1").unwrap();
    for s in 1..=10u64 {
        w.scalar("x", s, s as f64 * 1.5).unwrap();
        w.histogram("h", s, &[0.0, s as f64]).unwrap();
    }
    w.image_png("final", 10, &PNG_3X2).unwrap();
    drop(w);
    let first = only_file(&tb);
    let before = read_events(&first).unwrap();
    // A resume that died after writing its new file but before deleting the old one left the
    // same records twice; and the run was killed in the middle of a record.
    std::fs::copy(&first, tb.join(format!("{FILE_PREFIX}1.elsewhere"))).unwrap();
    let mut bytes = std::fs::read(&first).unwrap();
    let whole = bytes.len();
    bytes.extend_from_within(whole - 40..whole - 10);
    std::fs::write(&first, bytes).unwrap();

    let mut w = EventWriter::resume(&tb, 5).unwrap();
    for s in 6..=8u64 {
        w.scalar("x", s, -(s as f64)).unwrap();
    }
    w.flush().unwrap();
    let resumed = only_file(&tb);
    assert_eq!(w.path(), resumed);
    assert!(resumed > first, "the new file sorts after the old ones");
    let after = read_events(&resumed).unwrap();
    assert_eq!(
        after[0].what,
        Some(What::FileVersion("brain.Event:2".into()))
    );
    assert_eq!(
        after
            .iter()
            .filter(|e| matches!(e.what, Some(What::FileVersion(_))))
            .count(),
        1
    );
    // The records up to step 5 are the old ones, unchanged (wall times included).
    let kept: Vec<&Event> = before
        .iter()
        .filter(|e| e.step <= 5 && matches!(e.what, Some(What::Summary(_))))
        .collect();
    assert_eq!(after[1..=kept.len()].iter().collect::<Vec<_>>(), kept);

    let vals = values(&tb);
    let x = scalar_series(&vals, "x");
    let expected: Vec<(i64, f32)> = (1..=5)
        .map(|s| (s, s as f32 * 1.5))
        .chain((6..=8).map(|s| (s, -(s as f32))))
        .collect();
    assert_eq!(x, expected);
    assert_eq!(steps_of(&vals, "h"), [1, 2, 3, 4, 5]);
    assert_eq!(steps_of(&vals, "config"), [0]);
    assert!(steps_of(&vals, "final").is_empty());

    // Resumed again at its last step (a finished run resumed): what is there at that step is not
    // written twice, what is new is.
    drop(w);
    let mut w = EventWriter::resume(&tb, 8).unwrap();
    w.scalar("x", 8, 99.0).unwrap();
    w.scalar("y", 8, 1.0).unwrap();
    w.scalar("x", 9, 2.0).unwrap();
    drop(w);
    let vals = values(&tb);
    assert_eq!(steps_of(&vals, "x"), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(scalar_series(&vals, "x")[7], (8, -8.0));
    assert_eq!(steps_of(&vals, "y"), [8]);
}

/// Whether TensorBoard's Python package can be imported (CI installs it).
fn tensorboard_python() -> Result<(), String> {
    match Command::new("python3")
        .args(["-c", "import tensorboard"])
        .output()
    {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or("import failed")
            .to_string()),
        Err(e) => Err(format!("python3: {e}")),
    }
}

/// What tests/tb_read.py (TensorBoard's EventAccumulator) reads from `dir`.
fn read_with_tensorboard(dir: &Path) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tb_read.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tb_read.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn tensorboards_own_reader_reads_the_file() {
    if let Err(why) = tensorboard_python() {
        println!("skipped: the tensorboard Python package is not importable ({why})");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tb = dir.path().join("tb");
    let mut w = EventWriter::create(&tb).unwrap();
    w.text(
        "config",
        0,
        &tensorboard::config_markdown("seed = 1\n[train]\nsteps = 3\n"),
    )
    .unwrap();
    for s in 1..=3u64 {
        w.scalars(s, &[("loss".into(), s as f64 / 4.0), ("lr".into(), 0.5)])
            .unwrap();
        w.histogram("energy/data", s, &[-1.0, 0.0, s as f64])
            .unwrap();
    }
    w.image_png("landscape_step_0000002", 2, &PNG_3X2).unwrap();
    w.flush().unwrap();
    // A resume in between must leave a file TensorBoard reads just the same.
    drop(w);
    let mut w = EventWriter::resume(&tb, 2).unwrap();
    w.scalars(3, &[("loss".into(), 0.75), ("lr".into(), 0.5)])
        .unwrap();
    w.flush().unwrap();

    let got = read_with_tensorboard(&tb);
    let tags =
        |kind: &str| -> Vec<String> { serde_json::from_value(got["tags"][kind].clone()).unwrap() };
    assert_eq!(tags("scalars"), ["loss", "lr"]);
    assert_eq!(tags("images"), ["landscape_step_0000002"]);
    assert_eq!(tags("histograms"), ["energy/data"]);
    assert_eq!(tags("tensors"), ["config"]);
    assert_eq!(got["plugins"]["text"], serde_json::json!(["config"]));
    assert_eq!(
        got["scalars"]["loss"],
        serde_json::json!([[1, 0.25], [2, 0.5], [3, 0.75]])
    );
    assert_eq!(
        got["scalars"]["lr"],
        serde_json::json!([[1, 0.5], [2, 0.5], [3, 0.5]])
    );
    assert_eq!(
        got["images"]["landscape_step_0000002"],
        serde_json::json!([[2, 3, 2, PNG_3X2.len()]])
    );
    assert_eq!(
        got["histograms"]["energy/data"],
        serde_json::json!([
            [1, 3.0, -1.0, 1.0, tensorboard::HISTOGRAM_BUCKETS],
            [2, 3.0, -1.0, 2.0, tensorboard::HISTOGRAM_BUCKETS]
        ])
    );
    let text = got["texts"]["config"][0][1].as_str().unwrap();
    assert_eq!(got["texts"]["config"][0][0], 0);
    assert!(text.contains("[train]\nsteps = 3"), "{text}");
}

/// Hooks that draw "figures": a grid under `plots/grids/` at each progress call and
/// `plots/final.png` at the end.
struct PngHooks;

impl RunHooks for PngHooks {
    type Report = ebm_train::NoReport;

    fn draws_progress(&self, _: &RunConfig, _: &[usize]) -> bool {
        true
    }

    fn progress(&mut self, run: &RunView<'_>) -> ebm_train::Result<()> {
        let grids = run.dir.plots().join("grids");
        std::fs::create_dir_all(&grids).unwrap();
        let path = grids.join(format!("step_{:04}.png", run.state.step));
        std::fs::write(&path, PNG_3X2).map_err(ebm_train::Error::io(path))
    }

    fn finish(&mut self, run: &RunView<'_>) -> ebm_train::Result<ebm_train::NoReport> {
        let path = run.dir.plots().join("final.png");
        std::fs::write(&path, PNG_3X2).map_err(ebm_train::Error::io(path))?;
        Ok(ebm_train::NoReport {})
    }
}

const TINY: &str = r#"
seed = 3
[data]
kind = "two_moons"
n_samples = 300
[model]
kind = "mlp"
hidden = [16, 16]
[loss]
kind = "contrastive_divergence"
k = 5
buffer_capacity = 200
[train]
steps = 40
batch_size = 32
log_every = 10
plot_every = 20
checkpoint_every = 20
"#;

fn run(dir: &Path, name: &str, extra: &str, start: Start) -> PathBuf {
    ebm_samplers::link();
    ebm_losses::link();
    let toml = dir.join(format!("{name}.toml"));
    std::fs::write(&toml, format!("{TINY}{extra}")).unwrap();
    let loaded = load(&toml, &[]).unwrap();
    let out = dir.join(name);
    Trainer::new(&loaded, &out, start)
        .unwrap()
        .run(&mut PngHooks)
        .unwrap();
    out
}

/// metrics.jsonl as step → (key → value).
fn metrics(run: &Path) -> BTreeMap<i64, BTreeMap<String, f64>> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|line| {
            let row: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(line).unwrap();
            let step = row["step"].as_i64().unwrap();
            let values = row
                .iter()
                .filter(|(k, _)| k.as_str() != "step")
                .map(|(k, v)| (k.clone(), v.as_f64().unwrap()))
                .collect();
            (step, values)
        })
        .collect()
}

#[test]
fn a_training_run_logs_metrics_histograms_figures_and_config() {
    let dir = tempfile::tempdir().unwrap();
    let on = run(dir.path(), "on", "", Start::Fresh);
    let tb = on.join("tb");
    only_file(&tb);
    let vals = values(&tb);

    // Every scalar of metrics.jsonl, same tag, same step, same value (as f32).
    let rows = metrics(&on);
    assert_eq!(rows.keys().copied().collect::<Vec<_>>(), [10, 20, 30, 40]);
    let keys: Vec<&String> = rows[&10].keys().collect();
    assert!(
        keys.iter().any(|k| k.as_str() == "loss") && keys.len() > 3,
        "{keys:?}"
    );
    for key in &keys {
        let expected: Vec<(i64, f32)> = rows.iter().map(|(s, r)| (*s, r[*key] as f32)).collect();
        assert_eq!(scalar_series(&vals, key), expected, "{key}");
    }
    let scalar_tags: std::collections::BTreeSet<&str> = vals
        .iter()
        .filter(|(_, _, k)| matches!(k, Kind::SimpleValue(_)))
        .map(|(_, t, _)| t.as_str())
        .collect();
    assert_eq!(scalar_tags.len(), keys.len(), "{scalar_tags:?}");

    // Energy histograms at each log step: 256 training points, the bank's 200 chains.
    for (tag, n) in [
        (tensorboard::DATA_TAG, 256.0),
        (tensorboard::SAMPLES_TAG, 200.0),
    ] {
        let hists: Vec<(i64, f64)> = vals
            .iter()
            .filter(|(_, t, _)| t == tag)
            .map(|(s, _, k)| match k {
                Kind::Histo(h) => (*s, h.num),
                other => panic!("{tag}: {other:?}"),
            })
            .collect();
        assert_eq!(hists, [(10, n), (20, n), (30, n), (40, n)], "{tag}");
    }
    // Figures as images at the step they were drawn; the config as text at step 0.
    assert_eq!(steps_of(&vals, "grids/step_0020"), [20]);
    assert_eq!(steps_of(&vals, "final"), [40]);
    assert_eq!(steps_of(&vals, "config"), [0]);
    let Some((_, _, Kind::Tensor(config))) = vals.iter().find(|(_, t, _)| t == "config") else {
        panic!("no config text");
    };
    let text = String::from_utf8(config.string_val[0].clone()).unwrap();
    assert!(
        text.starts_with("```toml\n") && text.contains("tensorboard = true"),
        "{text}"
    );

    // Logging moves no random stream: the same run without it trains identically, and writes
    // no tb/.
    let off = run(dir.path(), "off", "tensorboard = false\n", Start::Fresh);
    assert!(!off.join("tb").exists());
    assert_eq!(
        std::fs::read_to_string(on.join("metrics.jsonl")).unwrap(),
        std::fs::read_to_string(off.join("metrics.jsonl")).unwrap()
    );

    // Killed after the checkpoint at step 20 (the step-40 one never written), then resumed: each
    // step once, and the same values as the uninterrupted run.
    std::fs::remove_file(on.join("checkpoints/step_0000040.safetensors")).unwrap();
    run(dir.path(), "on", "", Start::Resume);
    only_file(&tb);
    let resumed = values(&tb);
    for key in &keys {
        assert_eq!(
            scalar_series(&resumed, key),
            scalar_series(&vals, key),
            "{key}"
        );
    }
    for tag in [tensorboard::DATA_TAG, tensorboard::SAMPLES_TAG] {
        assert_eq!(steps_of(&resumed, tag), [10, 20, 30, 40], "{tag}");
    }
    assert_eq!(steps_of(&resumed, "grids/step_0020"), [20]);
    assert_eq!(steps_of(&resumed, "final"), [40]);
    assert_eq!(steps_of(&resumed, "config"), [0]);

    // A finished run resumed runs its final hooks again: their figures are not logged twice.
    run(dir.path(), "on", "", Start::Resume);
    let again = values(&tb);
    assert_eq!(steps_of(&again, "final"), [40]);
    assert_eq!(again.len(), resumed.len());

    if tensorboard_python().is_ok() {
        let got = read_with_tensorboard(&tb);
        let tags: Vec<String> = serde_json::from_value(got["tags"]["scalars"].clone()).unwrap();
        let mut expected: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        expected.sort();
        assert_eq!(tags, expected);
        assert_eq!(
            got["scalars"]["loss"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p[0].as_i64().unwrap())
                .collect::<Vec<_>>(),
            [10, 20, 30, 40]
        );
    }
}

#[test]
fn a_model_without_energy_values_logs_no_energy_histograms() {
    let dir = tempfile::tempdir().unwrap();
    ebm_samplers::link();
    ebm_losses::link();
    let toml = dir.path().join("flow.toml");
    std::fs::write(
        &toml,
        r#"
seed = 0
[data]
kind = "two_moons"
n_samples = 300
[model]
kind = "mlp"
hidden = [16]
time = true
output = "field"
[sampler]
kind = "flow"
integrator = { kind = "heun" }
[loss]
kind = "flow_matching"
interpolant = { kind = "linear" }
[train]
steps = 10
batch_size = 32
log_every = 5
checkpoint_every = 10
"#,
    )
    .unwrap();
    let out = dir.path().join("run");
    Trainer::new(&load(&toml, &[]).unwrap(), &out, Start::Fresh)
        .unwrap()
        .run(&mut ebm_train::NoHooks)
        .unwrap();
    let vals = values(&out.join("tb"));
    assert_eq!(steps_of(&vals, "loss"), [5, 10]);
    assert!(vals.iter().all(|(_, _, k)| !matches!(k, Kind::Histo(_))));
}
