//! Issue 17, D7 and D12: a config error names the key inside `[data]` and `[model]` (not only the
//! table) and where its value came from (the file, an `EBM_` variable, `--set`); a file that is
//! not text, or is empty, is exit 2 naming the file.

mod common;

use common::{launch, stderr, SMALL};

/// Writes `bytes` as the config, runs it with `sets` and `env`, asserts exit 2 and every needle.
fn refused(bytes: &[u8], sets: &[&str], env: &[(&str, &str)], needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("run.toml");
    std::fs::write(&config, bytes).unwrap();
    let out = dir.path().join("out");
    let mut args = vec![config.to_str().unwrap(), "--out", out.to_str().unwrap()];
    for s in sets {
        args.extend(["--set", s]);
    }
    let o = launch(&args, env);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{sets:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "`{n}` not in: {err}");
    }
}

#[test]
fn files_that_are_not_configs_exit_2_naming_the_file() {
    let garbage: Vec<u8> = (0..300u32).map(|i| (i * 151 % 256) as u8).collect();
    refused(
        &garbage,
        &[],
        &[],
        &["run.toml: not a TOML config", "UTF-8"],
    );
    refused(
        b"\xff\xfe[data]\n",
        &[],
        &[],
        &["run.toml", "byte 0 is not UTF-8"],
    );
    refused(b"", &[], &[], &["run.toml: missing field `data`"]);
}

#[test]
fn errors_inside_data_and_model_name_the_key_and_its_source() {
    let with = |from: &str, to: &str| SMALL.replace(from, to).into_bytes();
    refused(
        &with("n_samples = 512", "n_samples = \"many\""),
        &[],
        &[],
        &[
            "config key `data.n_samples` (from ",
            "run.toml)",
            "expected usize",
        ],
    );
    refused(
        &with("hidden = [32, 32]", "hiden = [32, 32]"),
        &[],
        &[],
        &["config key `model.hiden` (from ", "unknown field `hiden`"],
    );
    refused(
        SMALL.as_bytes(),
        &["data.n_samples=-3"],
        &[],
        &["config key `data.n_samples` (from --set on the command line)"],
    );
    refused(
        SMALL.as_bytes(),
        &["model={kind=\"conv\",layers=[{channels=3,kernel=3,strid=1,padding=0}]}"],
        &[],
        &["config key `model.layers[0].strid` (from --set on the command line)"],
    );
    refused(
        SMALL.as_bytes(),
        &[],
        &[("EBM_DATA__NOISE", "abc")],
        &["config key `data.noise` (from `EBM_` environment variable(s))"],
    );
}

#[test]
fn a_missing_test_split_is_found_before_training() {
    // Issue 17, D12: the test split is read by the evaluation at the end; a missing file used to
    // fail the run only after training.
    let dir = tempfile::tempdir().unwrap();
    let (config, data_dir) = cifar_example(dir.path());
    std::fs::remove_file(dir.path().join("cifar/test_batch.bin")).unwrap();
    let out = dir.path().join("run");
    let o = launch(
        &[
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--set",
            &data_dir,
            "--set",
            "train.batch_size=4",
            "--set",
            "loss.buffer_capacity=16",
        ],
        &[],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("test_batch.bin"), "{err}");
    assert!(
        !out.join("metrics.jsonl").exists(),
        "training started: {err}"
    );
}

#[test]
fn an_out_that_cannot_be_created_and_a_busy_port_exit_2() {
    // Issue 17, D12: both used to exit 1, like a failed run.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("small.toml");
    std::fs::write(&config, SMALL).unwrap();
    let file = dir.path().join("a_file");
    std::fs::write(&file, "").unwrap();
    let out = file.join("run");
    let o = launch(
        &[config.to_str().unwrap(), "--out", out.to_str().unwrap()],
        &[],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("pick another --out"), "{err}");

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let out = dir.path().join("run");
    let o = launch(
        &[
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--cpus",
            "1",
            "--spawn",
            "--master-port",
            &port,
        ],
        &[],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("pick a free port"), "{err}");
}

#[test]
fn image_models_too_large_for_memory_are_refused_naming_the_key() {
    // Issue 17, item 4: the memory estimate covers the conv and ResNet energies too (a huge width
    // used to hang drawing weights, then abort).
    let dir = tempfile::tempdir().unwrap();
    let (config, data_dir) = cifar_example(dir.path());
    for (model, key) in [
        (
            "model={kind=\"resnet\",channels=[100000],blocks=[1]}",
            "model.channels",
        ),
        (
            "model={kind=\"conv\",layers=[{channels=200000,kernel=3,stride=1,padding=1}]}",
            "model.layers",
        ),
    ] {
        let args = [
            "check",
            config.to_str().unwrap(),
            "--set",
            &data_dir,
            "--set",
            "train.batch_size=4",
            "--set",
            model,
        ];
        let o = launch(&args, &[]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{model}: {err}");
        assert!(
            err.contains(&format!("`{key}`")) && err.contains("too large"),
            "{err}"
        );
    }
}

/// examples/cifar_ebm.toml copied into `dir`, with 8 generated records per CIFAR-10 file in
/// `dir/cifar`: the config's path and the `--set` pointing `data.dir` there.
fn cifar_example(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let data = dir.join("cifar");
    ebm::data::write_synthetic_cifar(&data, 8, 1).unwrap();
    let config = dir.join("cifar.toml");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/cifar_ebm.toml");
    std::fs::write(&config, std::fs::read_to_string(example).unwrap()).unwrap();
    (config, format!("data.dir=\"{}\"", data.display()))
}
