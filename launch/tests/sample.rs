//! `ebm-launch sample`: drawing samples from a trained run writes a valid .npy, diagnostics JSON
//! and plots; with the run's own eval settings it reproduces the run's samples.npy; a folder
//! without a checkpoint and an unknown sampler are usage errors (exit 2) that name the problem.

mod common;

use common::{stderr, trained, SMALL};
use std::path::Path;
use std::process::Output;

fn launch(args: &[&str]) -> Output {
    common::launch(args, &[])
}

/// The shape in a .npy header, checking it is float32 and the file length fits.
fn npy_shape(path: &Path) -> Vec<usize> {
    let npy = std::fs::read(path).unwrap();
    assert_eq!(&npy[..6], b"\x93NUMPY");
    let len = u16::from_le_bytes([npy[8], npy[9]]) as usize;
    let header = String::from_utf8_lossy(&npy[10..10 + len]).replace(' ', "");
    assert!(header.contains("'descr':'<f4'"), "{header}");
    let shape = header.split("'shape':(").nth(1).unwrap();
    let shape: Vec<usize> = shape
        .split(')')
        .next()
        .unwrap()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(npy.len(), 10 + len + shape.iter().product::<usize>() * 4);
    shape
}

#[test]
fn sample_writes_samples_diagnostics_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path());
    let out = dir.path().join("draws").join("x.npy");
    let o = launch(&[
        "sample",
        run.to_str().unwrap(),
        "--n",
        "300",
        "--steps",
        "20",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(npy_shape(&out), [300, 2]);
    let text = std::fs::read_to_string(dir.path().join("draws/x_diagnostics.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let dims = json["dims"].as_array().unwrap();
    assert_eq!(dims.len(), 2, "{text}");
    for d in dims {
        let (ess, rhat) = (d["ess"].as_f64().unwrap(), d["rhat"].as_f64().unwrap());
        assert!(ess > 0.0 && rhat > 0.5, "{d}");
    }
    assert_eq!(json["mean_energy"].as_array().unwrap().len(), 20);
    assert_eq!(json["train_step"], 20);
    for png in ["x.png", "x_trajectories.png"] {
        let bytes = std::fs::read(dir.path().join("draws").join(png)).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{png}");
    }

    // The run's own eval settings and seed reproduce its samples.npy bit for bit.
    let again = dir.path().join("again.npy");
    let o = launch(&[
        "sample",
        run.to_str().unwrap(),
        "--n",
        "200",
        "--steps",
        "20",
        "--thin",
        "3",
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&again).unwrap(),
        std::fs::read(run.join("samples.npy")).unwrap()
    );

    // An unknown sampler is named, with the known ones; nothing is written.
    let bad = dir.path().join("bad.npy");
    let args = [
        "sample",
        run.to_str().unwrap(),
        "--out",
        bad.to_str().unwrap(),
    ];
    let o = launch(&[&args[..], &["--sampler", "langevine"]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("unknown sampler `langevine`")
            && err.contains("known: ")
            && err.contains("--sampler"),
        "{err}"
    );
    // So is a bad sampler parameter.
    let o = launch(&[&args[..], &["--set-sampler", "step_sise=0.1"]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("sampler.step_sise"), "{}", stderr(&o));
    assert!(!bad.exists());
}

#[test]
fn a_folder_without_a_checkpoint_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = launch(&["sample", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("config.toml"), "{}", stderr(&o));
    std::fs::write(dir.path().join("config.toml"), SMALL).unwrap();
    std::fs::create_dir(dir.path().join("checkpoints")).unwrap();
    let o = launch(&["sample", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("checkpoint") && err.contains(dir.path().to_str().unwrap()),
        "{err}"
    );
}

#[test]
fn init_continues_chains_where_a_file_left_them() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path());
    let run = run.to_str().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    // gradient_descent draws no noise, so 20 steps and then 20 more from where they stopped are
    // the same 40 steps as one call (the start is drawn from the same stream both times).
    let draw = |steps: &str, out: &str, extra: &[&str]| {
        let base = ["sample", run, "--sampler", "gradient_descent", "--n", "50"];
        let o = launch(&[&base[..], &["--steps", steps, "--out", out], extra].concat());
        assert!(o.status.success(), "{}", stderr(&o));
    };
    let (half, rest, whole) = (path("half.npy"), path("rest.npy"), path("whole.npy"));
    draw("20", &half, &[]);
    draw("20", &rest, &["--init", &half]);
    draw("40", &whole, &[]);
    let bytes = |p: &str| std::fs::read(p).unwrap();
    assert_eq!(bytes(&rest), bytes(&whole));
    assert_ne!(bytes(&half), bytes(&whole));

    // Without --n the file says how many chains; a different --n is an error naming both.
    let o = launch(&[
        "sample",
        run,
        "--steps",
        "2",
        "--init",
        &half,
        "--out",
        &path("a.npy"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(npy_shape(Path::new(&path("a.npy"))), [50, 2]);
    let o = launch(&[
        "sample",
        run,
        "--n",
        "7",
        "--init",
        &half,
        "--out",
        &path("b.npy"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("holds 50 points but --n asks for 7"),
        "{}",
        stderr(&o)
    );
    // A file of the wrong shape is named; nothing is written.
    let wrong = dir.path().join("wrong.npy");
    candle_core::Tensor::zeros((4, 3), candle_core::DType::F32, &candle_core::Device::Cpu)
        .unwrap()
        .write_npy(&wrong)
        .unwrap();
    let o = launch(&[
        "sample",
        run,
        "--init",
        wrong.to_str().unwrap(),
        "--out",
        &path("c.npy"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("wrong.npy") && err.contains("shape [4, 3]"),
        "{err}"
    );
    assert!(!Path::new(&path("b.npy")).exists() && !Path::new(&path("c.npy")).exists());
}
