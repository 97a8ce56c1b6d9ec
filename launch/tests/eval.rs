//! `ebm-launch eval`: a trained 2-D run gets its report (sample distances, AIS log Z and the test
//! log-likelihood) in RUN_DIR/evaluation/report.json and a summary on stdout; a folder that is
//! not a run is a usage error (exit 2) that names it.

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
