//! `ebm-launch eval`: a trained 2-D run gets its report (sample distances, AIS log Z and the test
//! log-likelihood) in RUN_DIR/evaluation/report.json and a summary on stdout; a folder that is
//! not a run is a usage error (exit 2) that names it. `--samples FILE.npy` scores a file written
//! as numpy writes it; a file of the wrong shape or dtype, with a NaN, or not a .npy at all is a
//! usage error (exit 2) whose message starts with the file's path.

mod common;

use common::{launch, stderr, trained};

#[test]
fn eval_writes_the_report_and_prints_log_z() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained(tmp.path());
    let o = launch(
        &[
            "eval",
            run.to_str().unwrap(),
            "--ais-chains",
            "32",
            "--ais-temperatures",
            "100",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("AIS log Z") && out.contains("MMD²"), "{out}");
    let report = run.join("evaluation").join("report.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["likelihood"]["chains"], 32);
    assert!(json["likelihood"]["log_z"].as_f64().unwrap().is_finite());
    assert_eq!(json["train_step"], 20);
}

#[test]
fn eval_of_a_folder_that_is_not_a_run_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let o = launch(&["eval", tmp.path().to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("config.toml is missing"),
        "{}",
        stderr(&o)
    );
}

/// A .npy file as numpy's `np.save` writes it (format 1.0, header padded to 64 bytes).
fn write_npy(path: &std::path::Path, descr: &str, shape: &[usize], data: &[u8]) {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn eval_scores_a_samples_file_and_rejects_bad_ones_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained(tmp.path());
    let file = |name: &str| tmp.path().join(name);
    let eval_file = |path: &std::path::Path, extra: &[&str]| {
        let args = [
            "eval",
            run.to_str().unwrap(),
            "--samples",
            path.to_str().unwrap(),
        ];
        launch(&[&args[..], extra].concat(), &[])
    };

    // 60 points on the unit circle, float64, as numpy writes them.
    let good = file("good.npy");
    let f64s: Vec<u8> = (0..60)
        .flat_map(|i| {
            let t = i as f64 * 0.1;
            [t.cos(), t.sin()]
        })
        .flat_map(f64::to_le_bytes)
        .collect();
    write_npy(&good, "<f8", &[60, 2], &f64s);
    let o = eval_file(&good, &["--ais-chains", "32", "--ais-temperatures", "100"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("60 samples from file:") && out.contains("MMD²"),
        "{out}"
    );
    let report = run.join("evaluation").join("report.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(
        json["samples_source"],
        format!("file:{}", good.display()).as_str()
    );
    assert_eq!(json["samples"]["n_samples"], 60);

    // Wrong shape, wrong dtype, a NaN, a big-endian file, not a .npy at all: exit 2, named.
    let f32s = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let cases = [
        (
            "wide.npy",
            "<f4",
            vec![10, 3],
            f32s(&[0.0; 30]),
            "shape [10, 3] does not match the run's data shape [2]",
        ),
        (
            "ints.npy",
            "<i8",
            vec![10, 2],
            vec![0; 160],
            "dtype i64; samples must be float32 or float64",
        ),
        (
            "nan.npy",
            "<f4",
            vec![10, 2],
            f32s(&[0.0, 1.0, 2.0, f32::NAN, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0].repeat(2)),
            "value NaN of sample 1 (flat index 3) is not finite",
        ),
        (
            "big_endian.npy",
            ">f4",
            vec![10, 2],
            f32s(&[0.0; 20]),
            "cannot be read as .npy",
        ),
    ];
    for (name, descr, shape, data, why) in cases {
        write_npy(&file(name), descr, &shape, &data);
        let o = eval_file(&file(name), &[]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        let err = stderr(&o);
        let named = format!("error: {}: ", file(name).display());
        assert!(err.contains(&named) && err.contains(why), "{name}: {err}");
    }
    std::fs::write(file("text.npy"), "x,y\n1,2\n").unwrap();
    let o = eval_file(&file("text.npy"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("text.npy: cannot be read as .npy"),
        "{}",
        stderr(&o)
    );
    // --samples replaces the drawn samples: --n has nothing to say.
    let o = eval_file(&good, &["--n", "10"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--n and --steps"), "{}", stderr(&o));
}
