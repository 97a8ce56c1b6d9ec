//! GPU tests (issue 15): the CUDA path against the CPU path it must agree with. Compiled only with
//! `--features cuda-train` (`scripts/gpu/build-bundle.sh` builds this binary for a GPU machine;
//! `scripts/gpu/check.sh` runs it there), so a CPU `cargo test` is unchanged. Each test skips with
//! one line where no GPU is visible.
//!
//! What is compared, and how closely:
//! - MLP, conv (with and without spectral norm) and ResNet energies, ∇ₓE and parameter gradients:
//!   CUDA (candle's kernels and autograd) against the CPU (the fused paths), relative 1e-4 of the
//!   largest entry;
//! - one training step of contrastive divergence, denoising score matching and flow matching from
//!   identical seeded states (the batches and the noise are drawn on the host, so both devices
//!   see the same numbers): the loss and the parameter change, relative 1e-3 (f32 sums in another
//!   order, through k Langevin steps);
//! - Langevin, MALA and HMC on N(0, diag(0.5, 1, 2)) run on the device: moments within 3 SE;
//! - a checkpoint written on the GPU restores on the CPU bit for bit (weights, optimizer moments,
//!   chain bank, RNG positions), and the next step agrees to 1e-5;
//! - a 1-rank NCCL communicator all-reduces, broadcasts and all-gathers on device tensors;
//! - `ebm-launch CONFIG --gpus 1` trains, checkpoints and evaluates.
#![cfg(feature = "cuda-train")]

use candle_core::{DType, Device, Tensor};
use ebm_core::{build_sampler, rng, run_chains, Chains, Model};
use ebm_dist::{Collective, CudaCollective, StoreClient, StoreServer};
use ebm_models::{
    Activation, ConvConfig, ConvLayerConfig, ConvNet, Mlp, MlpConfig, Pool, ResNet, ResNetConfig,
};
use ebm_testing::fixtures::{variance_of, DiagonalGaussian};
use ebm_train::{checkpoint, load, train_step, RunConfig, TrainState};
use std::path::Path;
use std::time::Duration;

/// GPU 0, or `None` with the reason printed (the test then passes without checking anything).
fn gpu(test: &str) -> Option<Device> {
    match Device::new_cuda(0) {
        Ok(d) => Some(d),
        Err(e) => {
            // candle appends a backtrace to the error: its first line is the reason.
            let reason = e.to_string();
            let reason = reason.lines().next().unwrap_or_default();
            eprintln!("{test}: skipped, no GPU visible ({reason})");
            None
        }
    }
}

fn host(t: &Tensor) -> Vec<f64> {
    t.to_device(&Device::Cpu)
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// max |a − b| / max |b| over every entry.
fn relative(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    let scale = b.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-30);
    let worst = a.iter().zip(b).fold(0f64, |m, (x, y)| m.max((x - y).abs()));
    assert!(worst.is_finite(), "non-finite values");
    worst / scale
}

fn assert_close(what: &str, gpu: &[f64], cpu: &[f64], tol: f64) {
    let err = relative(gpu, cpu);
    assert!(
        err <= tol,
        "{what}: CUDA and CPU differ by {err:e} (relative; limit {tol:e})"
    );
    eprintln!("{what}: relative difference {err:.2e}");
}

/// Seeded inputs uniform on [−1, 1], the same numbers on every device.
fn inputs(shape: &[usize], device: &Device) -> Tensor {
    let mut r = rng::stream(3, "gpu-test-x", 0);
    rng::rand_uniform(&mut r, shape, -1.0, 1.0, &Device::Cpu)
        .unwrap()
        .to_device(device)
        .unwrap()
}

/// E and ∇ₓE of a batch, and each named parameter's gradient, all on the host.
struct Grads {
    energy: Vec<f64>,
    input: Vec<f64>,
    params: Vec<(String, Vec<f64>)>,
}

/// E, ∇ₓE of the sampling view, and the parameter gradients of Σᵢ cᵢ·E(xᵢ) by autograd, for a
/// model `build` makes on `device` from a fixed seed.
fn energy_grads(
    build: &dyn Fn(&Device) -> Box<dyn Model>,
    shape: &[usize],
    device: &Device,
) -> Grads {
    let model = build(device);
    let x = inputs(shape, device);
    let (e, g) = model.detached().energy_and_grad(&x).unwrap();
    let n = shape[0];
    let c: Vec<f32> = (0..n)
        .map(|i| if i % 2 == 0 { 1.0 } else { -0.5 })
        .collect();
    let c = Tensor::from_vec(c, n, device).unwrap();
    let total = (model.energy(&x).unwrap() * c).unwrap().sum_all().unwrap();
    let store = total.backward().unwrap();
    let params = model
        .params()
        .into_iter()
        .map(|p| {
            let g = store.get(p.var.as_tensor()).expect("a gradient");
            (p.name, host(g))
        })
        .collect();
    Grads {
        energy: host(&e),
        input: host(&g),
        params,
    }
}

fn compare_model(name: &str, build: &dyn Fn(&Device) -> Box<dyn Model>, shape: &[usize]) {
    let Some(dev) = gpu(name) else { return };
    let on_gpu = energy_grads(build, shape, &dev);
    let on_cpu = energy_grads(build, shape, &Device::Cpu);
    assert_close(&format!("{name}: E"), &on_gpu.energy, &on_cpu.energy, 1e-4);
    assert_close(&format!("{name}: ∇ₓE"), &on_gpu.input, &on_cpu.input, 1e-4);
    assert_eq!(on_gpu.params.len(), on_cpu.params.len());
    for ((name_gpu, a), (name_cpu, b)) in on_gpu.params.iter().zip(&on_cpu.params) {
        assert_eq!(name_gpu, name_cpu);
        assert_close(&format!("{name}: ∂/∂{name_gpu}"), a, b, 1e-4);
    }
}

fn conv_layer(channels: usize, kernel: usize, stride: usize, padding: usize) -> ConvLayerConfig {
    ConvLayerConfig {
        channels,
        kernel,
        stride,
        padding,
    }
}

#[test]
fn mlp_energy_and_gradients_match_cpu() {
    let config: MlpConfig =
        serde_json::from_str(r#"{"hidden": [64, 64], "activation": "silu"}"#).unwrap();
    let build = |d: &Device| -> Box<dyn Model> {
        Box::new(Mlp::new(&config, 2, &mut rng::stream(1, "init", 0), d).unwrap())
    };
    compare_model("mlp", &build, &[256, 2]);
}

fn fashion_conv(spectral_norm: bool) -> ConvConfig {
    ConvConfig {
        layers: vec![
            conv_layer(16, 3, 1, 1),
            conv_layer(32, 4, 2, 1),
            conv_layer(64, 4, 2, 1),
            conv_layer(64, 7, 1, 0),
        ],
        activation: Activation::Swish,
        swish_beta: 1.0,
        spectral_norm,
        pool: Pool::Mean,
    }
}

#[test]
fn conv_energy_and_gradients_match_cpu() {
    for spectral_norm in [false, true] {
        let config = fashion_conv(spectral_norm);
        let build = |d: &Device| -> Box<dyn Model> {
            Box::new(
                ConvNet::new(&config, &[1, 28, 28], &mut rng::stream(2, "init", 0), d).unwrap(),
            )
        };
        compare_model(
            &format!("conv (spectral norm {spectral_norm})"),
            &build,
            &[16, 1, 28, 28],
        );
    }
}

#[test]
fn resnet_energy_and_gradients_match_cpu() {
    // cifar_ebm.toml's architecture at a quarter of its width.
    let config = ResNetConfig {
        channels: vec![32, 64, 64],
        blocks: vec![2, 2, 2],
        activation: Activation::Swish,
        swish_beta: 1.0,
        spectral_norm: true,
        pool: Pool::Sum,
    };
    let build = |d: &Device| -> Box<dyn Model> {
        Box::new(ResNet::new(&config, &[3, 32, 32], &mut rng::stream(3, "init", 0), d).unwrap())
    };
    compare_model("resnet", &build, &[8, 3, 32, 32]);
}

/// A run config from TOML text (plugins linked), written beside the test's temporary files.
fn run_config(dir: &Path, text: &str) -> RunConfig {
    ebm_samplers::link();
    ebm_losses::link();
    ebm_integrators::link();
    ebm_interpolants::link();
    let path = dir.join("run.toml");
    std::fs::write(&path, text).unwrap();
    load(&path, &[]).unwrap().config
}

/// Two moons, an MLP, AdamW whose large ε makes the step linear in the gradient (so the
/// comparison is of gradients, not of signs of near-zero ones), and `loss`.
fn two_moons(model: &str, sampler: &str, loss: &str) -> String {
    format!(
        r#"seed = 5
[data]
kind = "two_moons"
n_samples = 1024
[model]
kind = "mlp"
hidden = [64, 64]
activation = "silu"
{model}
[sampler]
{sampler}
[loss]
{loss}
[optim]
lr = 1e-2
eps = 1.0
[train]
steps = 10
batch_size = 128
log_every = 1
plot_every = 0
checkpoint_every = 5
[eval]
n_samples = 64
steps = 5
"#
    )
}

const CD: (&str, &str, &str) = (
    "",
    "kind = \"langevin\"\nstep_size = 0.01\nnoise_scale = 1.0",
    "kind = \"contrastive_divergence\"\nk = 5\nbuffer_capacity = 512",
);
const DSM: (&str, &str, &str) = (
    "",
    "kind = \"langevin\"\nstep_size = 0.01\nnoise_scale = 1.0",
    "kind = \"denoising_score_matching\"\nsigma = 0.1",
);
const FLOW: (&str, &str, &str) = (
    "time = true\noutput = \"field\"",
    "kind = \"flow\"\nintegrator = { kind = \"heun\" }",
    "kind = \"flow_matching\"\ninterpolant = { kind = \"linear\" }",
);

fn weights(state: &TrainState) -> Vec<f64> {
    state
        .model
        .params()
        .iter()
        .flat_map(|p| host(p.var.as_tensor()))
        .collect()
}

#[test]
fn one_training_step_matches_cpu() {
    let Some(dev) = gpu("one_training_step_matches_cpu") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (name, (model, sampler, loss)) in [("cd", CD), ("dsm", DSM), ("flow matching", FLOW)] {
        let config = run_config(dir.path(), &two_moons(model, sampler, loss));
        let mut on_gpu = TrainState::new(&config, &dev).unwrap();
        let mut on_cpu = TrainState::new(&config, &Device::Cpu).unwrap();
        let before = weights(&on_cpu);
        assert_eq!(
            weights(&on_gpu),
            before,
            "{name}: the initial weights differ"
        );
        let row_gpu = train_step(&mut on_gpu, &config).unwrap();
        let row_cpu = train_step(&mut on_cpu, &config).unwrap();
        assert_close(
            &format!("{name}: loss"),
            &[row_gpu.get("loss").unwrap()],
            &[row_cpu.get("loss").unwrap()],
            1e-3,
        );
        let delta =
            |w: Vec<f64>| -> Vec<f64> { w.iter().zip(&before).map(|(a, b)| a - b).collect() };
        assert_close(
            &format!("{name}: parameter change"),
            &delta(weights(&on_gpu)),
            &delta(weights(&on_cpu)),
            1e-3,
        );
    }
}

#[test]
fn samplers_on_the_device_keep_a_gaussian() {
    let Some(dev) = gpu("samplers_on_the_device_keep_a_gaussian") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let samplers = [
        "kind = \"langevin\"\nstep_size = 0.01\nnoise_scale = 1.0",
        "kind = \"mala\"\nstep_size = 0.1",
        "kind = \"hmc\"\nstep_size = 0.1\nn_leapfrog = 10",
    ];
    const N: usize = 4000;
    let d = 3;
    for spec in samplers {
        let config = run_config(dir.path(), &two_moons("", spec, CD.2));
        let mut sampler = build_sampler("sampler", &config.sampler).unwrap();
        let target = DiagonalGaussian::new(&[d], &dev).unwrap();
        let mut r = rng::stream(9, "gpu-sampler", 0);
        // Exact draws of the target: an exact sampler keeps them so, a biased one drifts.
        let std: Vec<f32> = (0..d).map(|i| variance_of(i).sqrt() as f32).collect();
        let std = Tensor::from_vec(std, (1, d), &Device::Cpu).unwrap();
        let start = rng::randn(&mut r, &[N, d], &Device::Cpu)
            .unwrap()
            .broadcast_mul(&std)
            .unwrap()
            .to_device(&dev)
            .unwrap();
        let mut chains = Chains::new(start);
        run_chains(sampler.as_mut(), &target, &mut chains, 200, &mut r).unwrap();
        assert!(chains.x().device().is_cuda(), "{spec}: chains left the GPU");
        let x = host(chains.x());
        let n = N as f64;
        for j in 0..d {
            let v = variance_of(j);
            let col: Vec<f64> = x.iter().skip(j).step_by(d).copied().collect();
            let mean = col.iter().sum::<f64>() / n;
            let var = col.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let (se_mean, se_var) = ((v / n).sqrt(), v * (2.0 / (n - 1.0)).sqrt());
            // Langevin's bias at η = 0.01 is η/4 of the variance: well inside 3 SE here.
            assert!(
                (mean / se_mean).abs() < 3.0 && ((var - v) / se_var).abs() < 3.0,
                "{spec}: coordinate {j} has mean {mean:.4} (SE {se_mean:.4}) and variance \
                 {var:.4} (SE {se_var:.4}); the target's variance is {v}"
            );
        }
        eprintln!("{}: moments within 3 SE", spec.lines().next().unwrap());
    }
}

#[test]
fn a_gpu_checkpoint_resumes_on_the_cpu() {
    let Some(dev) = gpu("a_gpu_checkpoint_resumes_on_the_cpu") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = run_config(dir.path(), &two_moons(CD.0, CD.1, CD.2));
    let mut on_gpu = TrainState::new(&config, &dev).unwrap();
    for _ in 0..3 {
        train_step(&mut on_gpu, &config).unwrap();
    }
    let ckpt_dir = dir.path().join("checkpoints");
    let path = on_gpu.save(&ckpt_dir, 3).unwrap();
    let mut on_cpu = TrainState::new(&config, &Device::Cpu).unwrap();
    on_cpu
        .restore(&checkpoint::load(&path, &Device::Cpu).unwrap(), &path)
        .unwrap();
    // Everything the checkpoint holds, bit for bit.
    let (a, b) = (
        on_gpu.to_checkpoint().unwrap(),
        on_cpu.to_checkpoint().unwrap(),
    );
    let keys: Vec<&String> = a.tensors.keys().collect();
    assert_eq!(keys, b.tensors.keys().collect::<Vec<_>>());
    for key in keys {
        let bits =
            |t: &Tensor| -> Vec<u32> { host(t).iter().map(|v| (*v as f32).to_bits()).collect() };
        assert_eq!(
            bits(&a.tensors[key]),
            bits(&b.tensors[key]),
            "{key} differs"
        );
    }
    assert_eq!(a.meta, b.meta, "checkpoint metadata differs");
    let row_gpu = train_step(&mut on_gpu, &config).unwrap();
    let row_cpu = train_step(&mut on_cpu, &config).unwrap();
    assert_close(
        "next step: loss",
        &[row_gpu.get("loss").unwrap()],
        &[row_cpu.get("loss").unwrap()],
        1e-5,
    );
    assert_close(
        "next step: weights",
        &weights(&on_gpu),
        &weights(&on_cpu),
        1e-5,
    );
}

#[test]
fn one_rank_nccl_reduces_and_broadcasts() {
    let Some(dev) = gpu("one_rank_nccl_reduces_and_broadcasts") else {
        return;
    };
    let server = StoreServer::bind_loopback(0, "gpu-test").unwrap();
    let store =
        StoreClient::connect(server.local_addr(), "gpu-test", Duration::from_secs(30)).unwrap();
    let cuda = dev.as_cuda_device().unwrap();
    let coll = CudaCollective::from_store(&store, "nccl-id", cuda, 0, 1).unwrap();
    assert_eq!((coll.rank(), coll.world_size()), (0, 1));
    let values: Vec<f32> = (0..1000).map(|i| i as f32 * 0.5 - 7.0).collect();
    let t = Tensor::from_vec(values.clone(), (10, 100), &dev).unwrap();
    let expect: Vec<f64> = values.iter().map(|v| *v as f64).collect();
    let sum = coll.all_reduce_sum_tensor(&t).unwrap();
    assert!(sum.device().is_cuda());
    assert_eq!(host(&sum), expect, "all-reduce (sum) of one rank");
    assert_eq!(host(&coll.all_reduce_mean_tensor(&t).unwrap()), expect);
    assert_eq!(host(&coll.broadcast_tensor(&t, 0).unwrap()), expect);
    assert_eq!(host(&coll.all_gather_flat_tensor(&t).unwrap()), expect);
    let mut buf = values.clone();
    coll.all_reduce_sum(&mut buf).unwrap();
    assert_eq!(buf, values, "all-reduce of a host buffer");
    coll.barrier().unwrap();
}

#[test]
fn gpus_1_trains_through_the_cli() {
    let Some(_dev) = gpu("gpus_1_trains_through_the_cli") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("run.toml");
    std::fs::write(&config, two_moons(CD.0, CD.1, CD.2)).unwrap();
    let out = dir.path().join("run");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_ebm-launch"))
        .arg(&config)
        .args(["--gpus", "1", "--out"])
        .arg(&out)
        .args(["--set", "train.plot_every=5"])
        .status()
        .unwrap();
    assert!(status.success(), "ebm-launch --gpus 1 failed: {status}");
    for file in ["config.toml", "metrics.jsonl", "eval.json", "samples.npy"] {
        assert!(out.join(file).is_file(), "the run wrote no {file}");
    }
    let ckpts = checkpoint::list(&out.join("checkpoints")).unwrap();
    assert_eq!(ckpts.last().map(|c| c.0), Some(10), "last checkpoint");
}

#[test]
fn bf16_resnet_agrees_with_f32_on_the_gpu() {
    let Some(dev) = gpu("bf16_resnet_agrees_with_f32_on_the_gpu") else {
        return;
    };
    let config = ResNetConfig {
        channels: vec![32, 64],
        blocks: vec![1, 1],
        activation: Activation::Swish,
        swish_beta: 1.0,
        spectral_norm: true,
        pool: Pool::Sum,
    };
    let build = || -> Box<dyn Model> {
        Box::new(ResNet::new(&config, &[3, 32, 32], &mut rng::stream(3, "init", 0), &dev).unwrap())
    };
    let x = inputs(&[16, 3, 32, 32], &dev);
    let (e32, g32) = build().detached().energy_and_grad(&x).unwrap();
    let bf16 = ebm_models::AutocastModel::new(build(), DType::BF16);
    let (e16, g16) = bf16.detached().energy_and_grad(&x).unwrap();
    assert_eq!((e16.dtype(), g16.dtype()), (DType::F32, DType::F32));
    assert_close("bf16 resnet: E", &host(&e16), &host(&e32), 5e-2);
    assert_close("bf16 resnet: ∇ₓE", &host(&g16), &host(&g32), 1e-1);
}

#[test]
fn bf16_trains_on_the_gpu() {
    let Some(dev) = gpu("bf16_trains_on_the_gpu") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let text = two_moons(CD.0, CD.1, CD.2).replace("[train]\n", "[train]\nprecision = \"bf16\"\n");
    let config = run_config(dir.path(), &text);
    let mut state = TrainState::new(&config, &dev).unwrap();
    let before = weights(&state);
    let mut losses = Vec::new();
    for _ in 0..30 {
        losses.push(
            train_step(&mut state, &config)
                .unwrap()
                .get("loss")
                .unwrap(),
        );
    }
    assert!(
        losses.iter().all(|l| l.is_finite()),
        "bf16 losses: {losses:?}"
    );
    for p in state.model.params() {
        assert_eq!(p.var.dtype(), DType::F32, "{} left f32", p.name);
    }
    let moved = weights(&state)
        .iter()
        .zip(&before)
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        moved > before.len() / 2,
        "only {moved} of {} weights moved",
        before.len()
    );
    eprintln!("bf16 two moons: loss {:.4} → {:.4}", losses[0], losses[29]);
}
