//! `ebm-launch energy RUN --points X.npy --out E.npy [--grad]`: the energies a user gets for
//! their own points are the model's (the newest checkpoint's, as `eval` and `sample` load it),
//! ∇ₓE is their gradient, and a points file of the wrong shape is a usage error naming the file.

mod common;

use candle_core::{DType, Device, Tensor};
use common::{launch, stderr, trained};
use ebm_eval::TrainedRun;
use std::path::Path;

/// Debian's `dataset-fashion-mnist` (CI installs it).
const FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// `ebm-launch energy RUN --points POINTS --out OUT EXTRA...`.
fn energy(run: &Path, points: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let args = [
        "energy",
        run.to_str().unwrap(),
        "--points",
        points.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    launch(&[&args[..], extra].concat(), &[])
}

#[test]
fn energy_scores_points_with_the_newest_checkpoint_and_its_gradient() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained(tmp.path());
    let pts: Vec<f64> = vec![0.0, 0.0, 1.0, 0.5, -0.7, 0.2, 2.0, -1.0, 0.3, 0.9];
    let points = tmp.path().join("points.npy");
    Tensor::from_vec(pts.clone(), (5, 2), &Device::Cpu)
        .unwrap()
        .write_npy(&points)
        .unwrap();
    let out = tmp.path().join("e.npy");
    let o = energy(&run, &points, &out, &["--grad"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = Tensor::read_npy(&out).unwrap();
    let g = Tensor::read_npy(tmp.path().join("e_grad.npy")).unwrap();
    assert_eq!((e.dtype(), e.dims()), (DType::F32, &[5][..]));
    assert_eq!(g.dims(), &[5, 2]);
    // The model the other commands load gives the same energies.
    ebm_samplers::link();
    ebm_losses::link();
    let model = TrainedRun::open(&run, &Device::Cpu).unwrap().state.model;
    let x = Tensor::from_vec(
        pts.iter().map(|v| *v as f32).collect::<Vec<_>>(),
        (5, 2),
        &Device::Cpu,
    )
    .unwrap();
    let want = model.energy(&x).unwrap().to_vec1::<f32>().unwrap();
    let got = e.to_vec1::<f32>().unwrap();
    for (a, b) in got.iter().zip(&want) {
        assert!(
            (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
            "{got:?} vs {want:?}"
        );
    }
    // ∇ₓE equals central differences of E.
    let g = g.to_vec2::<f32>().unwrap();
    let h = 1e-2f32;
    for i in 0..5 {
        for j in 0..2 {
            let at = |d: f32| {
                let mut p: Vec<f32> = pts.iter().map(|v| *v as f32).collect();
                p[2 * i + j] += d;
                let x = Tensor::from_vec(p, (5, 2), &Device::Cpu).unwrap();
                model.energy(&x).unwrap().to_vec1::<f32>().unwrap()[i]
            };
            let fd = (at(h) - at(-h)) / (2.0 * h);
            assert!(
                (fd - g[i][j]).abs() < 2e-2 * (1.0 + fd.abs()),
                "[{i},{j}] fd {fd} vs {}",
                g[i][j]
            );
        }
    }
    // Points of another shape: exit 2, the file named.
    let bad = tmp.path().join("bad.npy");
    Tensor::zeros((4, 3), DType::F32, &Device::Cpu)
        .unwrap()
        .write_npy(&bad)
        .unwrap();
    let o = energy(&run, &bad, &out, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("bad.npy") && stderr(&o).contains("does not match"),
        "{}",
        stderr(&o)
    );
    // The output may not replace the input.
    let o = energy(&run, &points, &points, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let o = launch(&["completions", shell], &[]);
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains("ebm-launch") && text.contains("energy"),
            "{shell}"
        );
    }
}

#[test]
fn check_validates_without_training_and_names_bad_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // Every example checks cleanly: CIFAR-10 pointed at generated files of the real format (8
    // ranks, as the file is meant for), Fashion-MNIST where Debian's package is installed.
    let cifar = tmp.path().join("cifar");
    std::fs::create_dir_all(&cifar).unwrap();
    for name in (1..=5)
        .map(|i| format!("data_batch_{i}.bin"))
        .chain(["test_batch.bin".to_string()])
    {
        let record: Vec<u8> = (0..3073u32).map(|i| (i % 10) as u8).collect();
        std::fs::write(cifar.join(name), record.repeat(16)).unwrap();
    }
    let cifar_dir = format!("data.dir={:?}", cifar.to_str().unwrap());
    let mut examples: Vec<_> = std::fs::read_dir(root.join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    examples.sort();
    assert!(examples.len() >= 12, "{examples:?}");
    for path in examples {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name.starts_with("fashion_mnist") && !Path::new(FASHION_MNIST).is_dir() {
            eprintln!("skipped checking {name}: {FASHION_MNIST} is not installed");
            continue;
        }
        let mut args = vec!["check", path.to_str().unwrap()];
        if name == "cifar_ebm" {
            args.extend([
                "--ranks",
                "8",
                "--set",
                &cifar_dir,
                "--set",
                "train.batch_size=4",
            ]);
        }
        let o = launch(&args, &[]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains("parameters") && out.contains("memory per rank") && out.contains("[data]"),
            "{name}: {out}"
        );
    }
    let path = root.join("examples").join("two_moons.toml");
    // The plugin tables come back with their defaults: two_moons.toml sets only the NCE `kind`.
    let o = launch(&["check", path.to_str().unwrap()], &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("noise_ratio = 1.0") && out.contains("levels = 1"),
        "{out}"
    );
    let o = launch(
        &["check", path.to_str().unwrap(), "--set", "model.hidden=[0]"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("model.hidden"), "{}", stderr(&o));
    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[data]\nkind = \"two_moons\"\n[loss]\nkind = \"no_such_loss\"\n",
    )
    .unwrap();
    let o = launch(&["check", bad.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("loss.kind"), "{}", stderr(&o));
}

#[test]
fn checkpoint_picks_an_older_checkpoint_for_energy_and_sample() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained(tmp.path());
    let mut ckpts: Vec<_> = std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    ckpts.sort();
    assert!(ckpts.len() >= 2, "{ckpts:?}");
    let (oldest, newest) = (&ckpts[0], &ckpts[ckpts.len() - 1]);
    let points = tmp.path().join("points.npy");
    Tensor::from_vec(vec![0.3f32, -0.2, 1.0, 0.5], (2, 2), &Device::Cpu)
        .unwrap()
        .write_npy(&points)
        .unwrap();
    let score = |ckpt: &Path, out: &str| {
        let out = tmp.path().join(out);
        let o = energy(
            &run,
            &points,
            &out,
            &["--checkpoint", ckpt.to_str().unwrap()],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let said = String::from_utf8_lossy(&o.stdout).to_string();
        assert!(said.contains(&ckpt.display().to_string()), "{said}");
        Tensor::read_npy(&out).unwrap().to_vec1::<f32>().unwrap()
    };
    assert_ne!(score(oldest, "old.npy"), score(newest, "new.npy"));
    let o = launch(
        &[
            "sample",
            run.to_str().unwrap(),
            "--n",
            "10",
            "--steps",
            "5",
            "--checkpoint",
            oldest.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let missing = tmp.path().join("nope.safetensors");
    let o = launch(
        &[
            "sample",
            run.to_str().unwrap(),
            "--checkpoint",
            missing.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("nope.safetensors"), "{}", stderr(&o));
}
