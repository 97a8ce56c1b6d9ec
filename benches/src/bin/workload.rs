//! Runs one named workload of the TorchEBM comparison and prints one JSON line; the driver is
//! `benches/compare/run.py`, the Python counterpart `benches/compare/torchebm_workload.py`.
//!
//! ```text
//! cargo run --release -p ebm-benches --bin workload -- langevin_10k --repeats 5
//! workload NAME [--repeats N] [--warmup N] [--len N] [--round K] [--max-wait S] [--no-guard]
//! workload --list
//! ```

use ebm_benches::workloads::{self, Guard, Result, Spec};
use std::time::Duration;

const USAGE: &str = "usage: workload NAME [--repeats N] [--warmup N] [--len N] [--round K] \
                     [--max-wait SECONDS] [--no-guard] | workload --list";

struct Args {
    spec: &'static Spec,
    repeats: usize,
    warmup: usize,
    len: u64,
    round: u64,
    guard: Guard,
}

fn parse() -> Result<Option<Args>> {
    let mut it = std::env::args().skip(1);
    let mut name = None;
    let (mut repeats, mut warmup, mut len, mut round) = (5, 1, None, 0);
    let mut guard = Guard::default();
    while let Some(a) = it.next() {
        let mut value = |flag: &str| it.next().ok_or_else(|| format!("{flag} needs a value"));
        match a.as_str() {
            "--list" => {
                for s in workloads::SPECS {
                    println!("{:<15} {:<14} {}", s.name, s.unit, s.describe);
                }
                return Ok(None);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            "--repeats" => repeats = value(&a)?.parse()?,
            "--warmup" => warmup = value(&a)?.parse()?,
            "--len" => len = Some(value(&a)?.parse()?),
            "--round" => round = value(&a)?.parse()?,
            "--max-wait" => guard.max_wait = Duration::from_secs_f64(value(&a)?.parse()?),
            "--no-guard" => guard.enabled = false,
            flag if flag.starts_with('-') => {
                return Err(format!("unknown flag {flag}\n{USAGE}").into())
            }
            _ if name.is_none() => name = Some(a),
            _ => return Err(format!("one workload at a time\n{USAGE}").into()),
        }
    }
    let name = name.ok_or(USAGE)?;
    let spec = workloads::spec(&name).ok_or_else(|| {
        let names: Vec<_> = workloads::SPECS.iter().map(|s| s.name).collect();
        format!("unknown workload {name}; one of {}", names.join(", "))
    })?;
    if repeats == 0 {
        return Err("--repeats must be > 0".into());
    }
    Ok(Some(Args {
        spec,
        repeats,
        warmup,
        len: len.unwrap_or(spec.default_len),
        round,
        guard,
    }))
}

fn main() -> Result<()> {
    let Some(a) = parse()? else {
        return Ok(());
    };
    let rss_start_kb = workloads::proc_status_kb("VmRSS");
    let mut w = workloads::build(a.spec, a.len)?;
    let m = workloads::measure(w.as_mut(), a.repeats, a.warmup, &a.guard)?;
    let s = a.spec;
    // Chain-steps for the samplers (chains × steps), iterations or evaluations otherwise.
    let units = match s.unit {
        "chain-steps/s" => s.batch as f64 * a.len as f64,
        _ => a.len as f64,
    };
    let med = workloads::median(&m.times);
    let value = if s.lower_is_better {
        1e3 * med / units
    } else {
        units / med
    };
    let opt = |v: Option<u64>| v.map_or("null".to_string(), |v| v.to_string());
    let times: Vec<String> = m.times.iter().map(|t| format!("{t:.6}")).collect();
    println!(
        concat!(
            "{{\"impl\":\"ebm\",\"workload\":\"{}\",\"round\":{},\"unit\":\"{}\",",
            "\"lower_is_better\":{},\"batch\":{},\"len\":{},\"units_per_repeat\":{},",
            "\"repeats_s\":[{}],\"median_s\":{:.6},\"median_s_per_unit\":{:.6e},\"value\":{:.6e},",
            "\"attempts\":{},\"discarded_contended\":{},\"max_foreign_cores_kept\":{:.3},",
            "\"max_steal_kept\":{:.3},\"waited_s\":{:.1},\"guard\":{},",
            "\"rss_start_kb\":{},\"peak_rss_kb\":{},\"threads\":{},\"version\":\"{}\"}}"
        ),
        s.name,
        a.round,
        s.unit,
        s.lower_is_better,
        s.batch,
        a.len,
        units,
        times.join(","),
        med,
        med / units,
        value,
        m.attempts,
        m.discarded,
        m.max_foreign_kept,
        m.max_steal_kept,
        m.waited_s,
        a.guard.enabled,
        opt(rss_start_kb),
        opt(workloads::proc_status_kb("VmHWM")),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        env!("CARGO_PKG_VERSION"),
    );
    Ok(())
}
