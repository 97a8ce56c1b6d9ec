//! `ebm-launch energy RUN --points X.npy --out E.npy [--grad]`: the energies a user gets for
//! their own points are the model's (the newest checkpoint's, as `eval` and `sample` load it),
//! ∇ₓE is their gradient, and a points file of the wrong shape is a usage error naming the file.

mod common;

use candle_core::{DType, Device, Tensor};
use common::{launch, stderr, trained};
use ebm_eval::TrainedRun;

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
    let o = launch(
        &[
            "energy",
            run.to_str().unwrap(),
            "--points",
            points.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--grad",
        ],
        &[],
    );
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
    let o = launch(
        &[
            "energy",
            run.to_str().unwrap(),
            "--points",
            bad.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("bad.npy") && stderr(&o).contains("does not match"),
        "{}",
        stderr(&o)
    );
    // The output may not replace the input.
    let o = launch(
        &[
            "energy",
            run.to_str().unwrap(),
            "--points",
            points.to_str().unwrap(),
            "--out",
            points.to_str().unwrap(),
        ],
        &[],
    );
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
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for example in [
        "two_moons",
        "two_moons_cd",
        "eight_gaussians",
        "toy2d",
        "score_matching",
    ] {
        let path = root.join("examples").join(format!("{example}.toml"));
        let o = launch(&["check", path.to_str().unwrap()], &[]);
        assert!(o.status.success(), "{example}: {}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains("parameters") && out.contains("memory per rank") && out.contains("[data]"),
            "{example}: {out}"
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
