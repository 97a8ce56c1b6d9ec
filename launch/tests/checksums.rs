//! Issue 17, D10: checkpoints carry a CRC-32C of their tensor bytes, verified on load; a flipped
//! weight byte is caught, `--resume` falls back to the newest checkpoint that verifies (saying
//! which it skipped), and a checkpoint written before checksums still loads, with a warning.

mod common;

use candle_core::Device;
use common::{launch, stderr, trained};
use std::path::{Path, PathBuf};

fn checkpoints(run: &Path) -> Vec<PathBuf> {
    ebm_train::checkpoint::list(&run.join("checkpoints"))
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect()
}

/// The header length, the header JSON and the data section of a safetensors file.
fn split(bytes: &[u8]) -> (serde_json::Value, &[u8]) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (
        serde_json::from_slice(&bytes[8..8 + n]).unwrap(),
        &bytes[8 + n..],
    )
}

#[test]
fn a_flipped_weight_byte_is_caught_and_resume_falls_back() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained(tmp.path());
    let all = checkpoints(&run);
    assert_eq!(all.len(), 2, "{all:?}");
    let (older, newest) = (&all[0], &all[1]);
    let (header, _) = split(&std::fs::read(newest).unwrap());
    assert!(
        header["__metadata__"]["checksum.crc32c"].is_string(),
        "{header}"
    );

    // Flip one bit of the last tensor byte.
    let mut bytes = std::fs::read(newest).unwrap();
    *bytes.last_mut().unwrap() ^= 0x01;
    std::fs::write(newest, &bytes).unwrap();
    let e = ebm_train::checkpoint::load(newest, &Device::Cpu)
        .err()
        .expect("a corrupt checkpoint is refused")
        .to_string();
    assert!(e.contains("checksum") && e.contains("step_0000020"), "{e}");
    let o = launch(&["sample", run.to_str().unwrap(), "--n", "10"], &[]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("checksum"), "{}", stderr(&o));

    // --resume skips it, says so, and continues from the older one.
    let o = launch(
        &["--resume", run.to_str().unwrap(), "--set", "train.steps=30"],
        &[],
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("skipping checkpoint") && err.contains("step_0000020"),
        "{err}"
    );
    assert!(
        err.contains(&*older.file_name().unwrap().to_string_lossy()),
        "{err}"
    );
    let newest = checkpoints(&run).pop().unwrap();
    assert!(newest.ends_with("step_0000030.safetensors"), "{newest:?}");
    ebm_train::checkpoint::load(&newest, &Device::Cpu).unwrap();
}

#[test]
fn a_checkpoint_without_a_checksum_still_loads_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained(tmp.path());
    // Rewrite the newest checkpoint as an older ebm wrote it: no checksum in the metadata.
    let newest = checkpoints(&run).pop().unwrap();
    let bytes = std::fs::read(&newest).unwrap();
    let (mut header, data) = split(&bytes);
    header["__metadata__"]
        .as_object_mut()
        .unwrap()
        .remove("checksum.crc32c")
        .expect("written with a checksum");
    let mut text = serde_json::to_vec(&header).unwrap();
    text.resize(text.len().next_multiple_of(8), b' ');
    let mut old = (text.len() as u64).to_le_bytes().to_vec();
    old.extend_from_slice(&text);
    old.extend_from_slice(data);
    std::fs::write(&newest, old).unwrap();

    let o = launch(&["sample", run.to_str().unwrap(), "--n", "10"], &[]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("no checksum"), "{err}");
}
