//! `ebm-launch energy RUN --points FILE.npy [--grad] --out FILE.npy`: the energies E(x) (and
//! ∇ₓE) of a trained run's newest checkpoint at a user's own points, for use from numpy.
//!
//! The points file is read and checked as `eval --samples` reads its samples (float32/float64,
//! the run's data shape or flattened, every value finite); the outputs are float32 .npy files:
//! E as `[N]`, ∇ₓE with the points' own shape.

use crate::eval_run::samples_file::read_points;
use crate::{image_plots, Error, Result, TrainedRun};
use candle_core::{DType, Device, Tensor};
use ebm_train::write_atomic;
use std::path::{Path, PathBuf};

/// Points scored per forward pass (bounds the memory of one pass).
const CHUNK: usize = 4096;

/// What `ebm-launch energy` computes and where it goes.
#[derive(Clone, Debug)]
pub struct EnergyRunOptions {
    pub points: PathBuf,
    /// E(x) as float32 `[N]`.
    pub out: PathBuf,
    /// ∇ₓE as float32, the points' shape (None: not computed).
    pub grad_out: Option<PathBuf>,
    /// Score with this checkpoint instead of the newest.
    pub checkpoint: Option<PathBuf>,
}

/// What was scored.
#[derive(Clone, Debug)]
pub struct EnergyRunReport {
    pub checkpoint: PathBuf,
    pub train_step: u64,
    pub n: usize,
}

/// Scores the points of `opts.points` under the newest checkpoint of `run_dir`.
pub fn energy_of_points(run_dir: &Path, opts: &EnergyRunOptions) -> Result<EnergyRunReport> {
    for out in std::iter::once(&opts.out).chain(opts.grad_out.as_ref()) {
        if same_file(out, &opts.points) {
            return Err(Error::usage(format!(
                "--out {} would overwrite the points file",
                out.display()
            )));
        }
    }
    let device = Device::Cpu;
    let run = TrainedRun::open_at(run_dir, opts.checkpoint.as_deref(), &device)?;
    let config = &run.loaded.config;
    if !run.state.model.has_energy_values() {
        return Err(Error::usage(format!(
            "{}: the run's model outputs a gradient field, not energies",
            run_dir.display()
        )));
    }
    let data_shape = config.data.sample_shape();
    let image = config.data.is_image() && image_plots::is_image(&data_shape);
    let x = read_points(
        &opts.points,
        &data_shape,
        &run.state.input_shape(),
        image,
        1,
        "scoring",
    )?;
    let file_shape = Tensor::read_npy(&opts.points)?.dims().to_vec();
    let n = x.dims()[0];
    let energy = run.state.model.detached();
    let (mut energies, mut grads) = (Vec::with_capacity(n), Vec::new());
    for start in (0..n).step_by(CHUNK) {
        let chunk = x.narrow(0, start, CHUNK.min(n - start))?;
        if opts.grad_out.is_some() {
            let (e, g) = energy.energy_and_grad(&chunk)?;
            energies.extend(e.to_dtype(DType::F32)?.to_vec1::<f32>()?);
            grads.extend(g.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?);
        } else {
            let e = energy.energy(&chunk)?;
            energies.extend(e.to_dtype(DType::F32)?.to_vec1::<f32>()?);
        }
    }
    let e = Tensor::from_vec(energies, n, &device)?;
    write_atomic(&opts.out, |tmp| Ok(e.write_npy(tmp)?))?;
    if let Some(path) = &opts.grad_out {
        let g = Tensor::from_vec(grads, file_shape, &device)?;
        write_atomic(path, |tmp| Ok(g.write_npy(tmp)?))?;
    }
    Ok(EnergyRunReport {
        checkpoint: run.checkpoint.clone(),
        train_step: run.state.step,
        n,
    })
}

/// Whether `a` and `b` name the same file (an output must never replace the input).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
