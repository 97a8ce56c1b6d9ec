//! E(x) and ∇ₓE(x) of a conv energy (conv → φ → … → global pool → linear) by explicit forward
//! and backward passes on the CPU, without candle's autograd.
//!
//! Why: candle's CPU conv backward goes through `conv_transpose2d`, which is far slower than the
//! forward. Here every convolution and every input gradient is one GEMM over an im2col matrix
//! ([`im2col`]), the activations keep φ'(z) from the forward, and the backward is
//! head weight → pool → ⊙φ'(z) → Wᵀ·g → col2im, layer by layer down to the input.
//!
//! The batch is cut into groups of a few images; a group runs forward and backward on one thread
//! (rayon over groups), so its feature maps stay in cache. Inside a group the maps are stored
//! `[C, G, H, W]`, which is what one GEMM with N = G·H·W columns produces.
//!
//! The plain conv stack is here; the ResNet's blocks and pooling are in [`resnet`]. The
//! numeric kernels (φ/φ′, SIMD dispatch, GEMM) are `ebm_kernels`'.

mod im2col;
mod resnet;

pub(crate) use crate::image_energy::RowWeights;
use crate::{Activation, Pool};
use candle_core::Tensor;
use ebm_core::{Error, Result};
use ebm_kernels::activation::activate_biased;
use ebm_kernels::gemm::{matmul, Mat};
use ebm_kernels::Real;
use im2col::{col2im, im2col, ConvShape, Strides};
use rayon::prelude::*;
pub(crate) use resnet::{FusedResNet, ResBlockSpec};

/// Most images per group. Small groups keep a group's im2col matrix (1 MB per image for the
/// bench network's second layer) in L2 and balance the threads; 1, 2, 4 and 8 measured the same
/// CPU time per ∇ₓE on the bench network (±3%).
const MAX_GROUP: usize = 2;

/// One conv layer as the fused path needs it: weights already spectrally normalised.
pub(crate) struct ConvSpec<'a> {
    /// `[C_out, C_in, k, k]`
    pub weight: &'a Tensor,
    /// `[C_out]`
    pub bias: &'a Tensor,
    pub stride: usize,
    pub padding: usize,
}

/// φ with its β, as the fused passes apply it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Act<T> {
    pub activation: Activation,
    pub beta: T,
}

impl<T: Real> Act<T> {
    /// z ← φ(z + bias), `slope` ← φ'(z + bias): adding a channel's bias here saves a pass over z.
    pub fn apply(self, z: &mut [T], slope: &mut [T], bias: T) {
        activate_biased(self.activation, self.beta, z, slope, bias)
    }
}

pub(super) struct ConvLayer<T> {
    pub shape: ConvShape,
    pub cout: usize,
    /// `[C_out, C_in·k·k]`, row-major.
    pub w: Vec<T>,
    pub b: Vec<T>,
}

impl<T: Real> ConvLayer<T> {
    /// Layer `i` (for errors) on a `cin`×h×w input.
    pub fn new(spec: &ConvSpec<'_>, cin: usize, (h, w): (usize, usize), i: usize) -> Result<Self> {
        let what = || format!("fused conv layer {i}");
        let &[cout, wc, k, k2] = spec.weight.dims() else {
            return Err(Error::shape(what(), "weight is not [out, in, k, k]"));
        };
        let shape = ConvShape::new(cin, (h, w), k, spec.stride, spec.padding)
            .filter(|_| wc == cin && k == k2 && spec.stride > 0)
            .ok_or_else(|| {
                Error::shape(
                    what(),
                    format!(
                        "weight {:?} does not fit a {cin}×{h}×{w} input",
                        spec.weight.dims()
                    ),
                )
            })?;
        Ok(ConvLayer {
            shape,
            cout,
            w: values(spec.weight)?,
            b: values(spec.bias)?,
        })
    }

    /// W · im2col(src) for `images` images laid out as `st`: `[C_out, images·H_out·W_out]`,
    /// without the bias (the caller adds it in its next pass over the result).
    pub fn forward(
        &self,
        src: &[T],
        st: Strides,
        images: usize,
        cols: &mut Vec<T>,
        threads: usize,
    ) -> Result<Vec<T>> {
        let sh = &self.shape;
        let n = images * sh.out_pixels();
        cols.resize(sh.rows() * n, T::ZERO);
        im2col(sh, images, src, st, cols);
        let mut z = vec![T::ZERO; self.cout * n];
        let w = Mat::rows(&self.w, self.cout, sh.rows());
        matmul(&mut z, w, Mat::rows(cols, sh.rows(), n), false, threads);
        Ok(z)
    }

    /// ∂E/∂input = col2im(Wᵀ · g) for g = ∂E/∂z `[C_out, images·H_out·W_out]`, added into `dst`
    /// laid out as `st`. Callers pass zeros: col2im no longer clears `dst` itself, which saved
    /// a second pass over memory they had just zeroed.
    pub fn backward(
        &self,
        g: &[T],
        images: usize,
        cols: &mut Vec<T>,
        dst: &mut [T],
        st: Strides,
        threads: usize,
    ) -> Result<()> {
        let sh = &self.shape;
        let n = images * sh.out_pixels();
        cols.resize(sh.rows() * n, T::ZERO);
        let wt = Mat::rows(&self.w, self.cout, sh.rows()).t();
        matmul(cols, wt, Mat::rows(g, self.cout, n), false, threads);
        col2im(sh, images, cols, dst, st);
        Ok(())
    }

    /// Adds ∂/∂W = g · im2col(src)ᵀ and ∂/∂b = Σ g over the columns into `out`, for g = ∂/∂z
    /// `[C_out, images·H_out·W_out]` and the layer's input `src` laid out as `st`.
    pub fn weight_grad(
        &self,
        g: &[T],
        (src, st): (&[T], Strides),
        images: usize,
        cols: &mut Vec<T>,
        out: &mut LayerGrads<T>,
        threads: usize,
    ) {
        let sh = &self.shape;
        let n = images * sh.out_pixels();
        cols.resize(sh.rows() * n, T::ZERO);
        im2col(sh, images, src, st, cols);
        let colst = Mat::rows(cols, sh.rows(), n).t();
        matmul(&mut out.w, Mat::rows(g, self.cout, n), colst, true, threads);
        for (db, row) in out.b.iter_mut().zip(g.chunks_exact(n)) {
            *db += row.iter().fold(T::ZERO, |a, &v| a + v);
        }
    }
}

/// `[C, G, H, W]` maps of a group of `images`: the layout the GEMMs produce.
pub(super) fn internal_strides(images: usize, (h, w): (usize, usize)) -> Strides {
    Strides {
        channel: images * h * w,
        image: h * w,
    }
}

/// `[B, C, H, W]` input images.
pub(super) fn input_strides([c, h, w]: [usize; 3]) -> Strides {
    Strides {
        channel: h * w,
        image: c * h * w,
    }
}

/// How a batch is cut into groups of images: the group size and the GEMM threads per group.
#[derive(Clone, Copy, Debug)]
pub(super) struct GroupPlan {
    pub batch: usize,
    pub per_image: usize,
    pub group: usize,
    pub gemm_threads: usize,
}

impl GroupPlan {
    /// The plan for `x` (`[B, ·input]` row-major), or a shape error.
    pub fn new<T>(input: [usize; 3], x: &[T]) -> Result<Self> {
        let per_image: usize = input.iter().product();
        if per_image == 0 || !x.len().is_multiple_of(per_image) {
            return Err(Error::shape(
                "fused conv",
                format!("{} values are not a batch of {input:?} images", x.len()),
            ));
        }
        let batch = x.len() / per_image;
        let threads = rayon::current_num_threads().max(1);
        let group = batch.div_ceil(threads).clamp(1, MAX_GROUP);
        // With fewer groups than threads, let the GEMMs split instead.
        let gemm_threads = if batch.div_ceil(group) < threads {
            threads
        } else {
            1
        };
        Ok(GroupPlan {
            batch,
            per_image,
            group,
            gemm_threads,
        })
    }
}

/// Splits `x` (`[B, ·input]`) into groups of images and runs `group(x, energies, grad, gemm
/// threads)` on each in parallel; returns E and, if `want_grad`, ∇ₓE.
pub(super) fn run_groups<T: Real>(
    input: [usize; 3],
    x: &[T],
    want_grad: bool,
    group_fn: impl Fn(&[T], &mut [T], Option<&mut [T]>, usize) -> Result<()> + Sync,
) -> Result<(Vec<T>, Option<Vec<T>>)> {
    let plan = GroupPlan::new(input, x)?;
    let (group, per_image) = (plan.group, plan.per_image);
    let mut energy = vec![T::ZERO; plan.batch];
    let mut grad = if want_grad {
        vec![T::ZERO; x.len()]
    } else {
        Vec::new()
    };
    let mut grads: Vec<Option<&mut [T]>> = if want_grad {
        grad.chunks_mut(group * per_image).map(Some).collect()
    } else {
        (0..plan.batch.div_ceil(group)).map(|_| None).collect()
    };
    energy
        .par_chunks_mut(group)
        .zip(x.par_chunks(group * per_image))
        .zip(grads.par_iter_mut())
        .try_for_each(|((e, x), g)| group_fn(x, e, g.as_deref_mut(), plan.gemm_threads))?;
    Ok((energy, want_grad.then_some(grad)))
}

/// The gradients of Σᵢ cᵢ·E(xᵢ) with respect to one layer's effective weight (W/σ with spectral
/// norm; the head's before the pool's scale) and its bias, row-major in the weight's shape.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LayerGrads<T> {
    pub w: Vec<T>,
    pub b: Vec<T>,
}

impl<T: Real> LayerGrads<T> {
    pub fn zeros(w: usize, b: usize) -> Self {
        LayerGrads {
            w: vec![T::ZERO; w],
            b: vec![T::ZERO; b],
        }
    }

    /// Adds `other` element by element.
    pub fn add(&mut self, other: &LayerGrads<T>) {
        for (a, b) in self.w.iter_mut().zip(&other.w) {
            *a += *b;
        }
        for (a, b) in self.b.iter_mut().zip(&other.b) {
            *a += *b;
        }
    }
}

/// Sums the groups' gradients in group order (so the result depends on the plan, not on which
/// thread finished first).
pub(super) fn sum_groups<T: Real>(groups: Vec<Vec<LayerGrads<T>>>) -> Vec<LayerGrads<T>> {
    let mut it = groups.into_iter();
    let mut total = it.next().unwrap_or_default();
    for g in it {
        total.iter_mut().zip(&g).for_each(|(t, g)| t.add(g));
    }
    total
}

/// Runs `forward(x_group, images, gemm threads) -> (state, energies)` on every group in parallel,
/// asks `weights` for the row weights c of all energies, then `backward(x_group, state, c_group,
/// gemm threads) -> gradients` on every group: E and the summed gradients of Σᵢ cᵢ·E(xᵢ).
pub(super) fn param_grad_groups<T: Real, S: Send>(
    input: [usize; 3],
    x: &[T],
    weights: &mut dyn FnMut(&[T]) -> Result<Vec<T>>,
    forward: impl Fn(&[T], usize, usize) -> Result<(S, Vec<T>)> + Sync,
    backward: impl Fn(&[T], S, &[T], usize) -> Result<Vec<LayerGrads<T>>> + Sync,
) -> Result<(Vec<T>, Vec<LayerGrads<T>>)> {
    let plan = GroupPlan::new(input, x)?;
    let chunk = plan.group * plan.per_image;
    let forwards: Vec<(S, Vec<T>)> = x
        .par_chunks(chunk)
        .map(|xg| forward(xg, xg.len() / plan.per_image, plan.gemm_threads))
        .collect::<Result<_>>()?;
    let energy: Vec<T> = forwards
        .iter()
        .flat_map(|(_, e)| e.iter().copied())
        .collect();
    let c = weights(&energy)?;
    if c.len() != plan.batch {
        return Err(Error::shape(
            "fused conv row weights",
            format!("{} weights for {} energies", c.len(), plan.batch),
        ));
    }
    let grads: Vec<Vec<LayerGrads<T>>> = forwards
        .into_par_iter()
        .zip(x.par_chunks(chunk))
        .zip(c.par_chunks(plan.group))
        .map(|(((state, _), xg), cg)| backward(xg, state, cg, plan.gemm_threads))
        .collect::<Result<_>>()?;
    Ok((energy, sum_groups(grads)))
}

/// A fused image energy as passes over one group of images; [`GroupPasses::run`] (E and ∇ₓE)
/// and [`GroupPasses::param_grads`] (E and the layers' gradients) are written once on top.
pub(crate) trait GroupPasses<T: Real>: Sync {
    /// What a group's forward keeps for its backward.
    type Acts: Send;

    /// `[C, H, W]` of one input image.
    fn input(&self) -> [usize; 3];

    /// The forward of the `images` images of `x`.
    fn forward_group(&self, x: &[T], images: usize, threads: usize) -> Result<Self::Acts>;

    /// The energies of a forward's images into `e`.
    fn energies(&self, acts: &Self::Acts, e: &mut [T]) -> Result<()>;

    /// The backward of one group's forward, seeded with ∂/∂Eᵢ = `seed`ᵢ (1 without a seed):
    /// ∇ₓ into `grad` and the layers' gradients added into `params`, each where asked for.
    fn backward_group(
        &self,
        x: &[T],
        acts: Self::Acts,
        seed: Option<&[T]>,
        grad: Option<&mut [T]>,
        params: Option<&mut Vec<LayerGrads<T>>>,
        threads: usize,
    ) -> Result<()>;

    /// Zero gradients for every layer, in `layers()` order (the head last).
    fn zero_grads(&self) -> Vec<LayerGrads<T>>;

    /// E for every image of `x` (`[B, C, H, W]` row-major), and ∇ₓE (same layout) if
    /// `want_grad`.
    fn run(&self, x: &[T], want_grad: bool) -> Result<(Vec<T>, Option<Vec<T>>)> {
        run_groups(self.input(), x, want_grad, |x, e, grad, threads| {
            let acts = self.forward_group(x, e.len(), threads)?;
            self.energies(&acts, e)?;
            match grad {
                Some(grad) => self.backward_group(x, acts, None, Some(grad), None, threads),
                None => Ok(()),
            }
        })
    }

    /// E of every image of `x` and the gradients of Σᵢ cᵢ·E(xᵢ) with respect to every layer's
    /// effective weight and bias, where c = `weights(E)`.
    fn param_grads(
        &self,
        x: &[T],
        weights: &mut RowWeights<'_, T>,
    ) -> Result<(Vec<T>, Vec<LayerGrads<T>>)> {
        let forward = |x: &[T], images: usize, threads: usize| {
            let acts = self.forward_group(x, images, threads)?;
            let mut e = vec![T::ZERO; images];
            self.energies(&acts, &mut e)?;
            Ok((acts, e))
        };
        let backward = |x: &[T], acts: Self::Acts, c: &[T], threads: usize| {
            let mut grads = self.zero_grads();
            self.backward_group(x, acts, Some(c), None, Some(&mut grads), threads)?;
            Ok(grads)
        };
        param_grad_groups(self.input(), x, weights, forward, backward)
    }
}

/// The factor a pool applies to the sum over a map's pixels.
pub(super) fn pool_scale(pool: Pool, (h, w): (usize, usize)) -> f64 {
    match pool {
        Pool::Mean => 1.0 / (h * w) as f64,
        Pool::Sum => 1.0,
    }
}

/// The head's weight times the pool's scale (1/(H·W) for a mean) and its bias, checked against
/// `c` channels.
pub(super) fn head<T: Real>(
    (w, b): (&Tensor, &Tensor),
    c: usize,
    pool: Pool,
    (h, wd): (usize, usize),
) -> Result<(Vec<T>, T)> {
    let scale = pool_scale(pool, (h, wd));
    let head_w: Vec<T> = values::<T>(w)?
        .into_iter()
        .map(|v| v * T::from_f64(scale))
        .collect();
    let head_b = values::<T>(b)?;
    match head_b[..] {
        [b] if head_w.len() == c => Ok((head_w, b)),
        _ => Err(Error::shape(
            "fused conv head",
            format!(
                "expected weight [1, {c}] and bias [1], got {} and {} values",
                head_w.len(),
                head_b.len()
            ),
        )),
    }
}

/// E = head_b + Σ_c head_w[c]·Σ_pixels maps[c, g, ·] for each image g of `[C, G, hw]` maps.
pub(super) fn head_energy<T: Real>(maps: &[T], head_w: &[T], head_b: T, hw: usize, e: &mut [T]) {
    let images = e.len();
    for (g, e) in e.iter_mut().enumerate() {
        let mut sum = head_b;
        for (c, &wc) in head_w.iter().enumerate() {
            let plane = &maps[(c * images + g) * hw..][..hw];
            sum += wc * plane.iter().fold(T::ZERO, |a, &v| a + v);
        }
        *e = sum;
    }
}

/// Adds the head's gradients of Σ_g seed[g]·E_g into `head`, for `[C, images, hw]` maps:
/// E = b + Σ_c w[c]·scale·Σ_pixels maps[c, g, ·], so ∂/∂w[c] is the seeded pooled map and ∂/∂b the seed's sum.
pub(super) fn head_param_grads<T: Real>(
    (maps, images, hw): (&[T], usize, usize),
    seed: &[T],
    pool_scale: T,
    head: &mut LayerGrads<T>,
) {
    for (c, dw) in head.w.iter_mut().enumerate() {
        for (g, &s) in seed.iter().enumerate() {
            let plane = &maps[(c * images + g) * hw..][..hw];
            *dw += s * pool_scale * plane.iter().fold(T::ZERO, |a, &v| a + v);
        }
    }
    head.b[0] += seed.iter().fold(T::ZERO, |a, &v| a + v);
}

/// A conv energy's weights copied out of candle, ready for [`FusedConvNet::run`].
pub(crate) struct FusedConvNet<T> {
    input: [usize; 3],
    convs: Vec<ConvLayer<T>>,
    /// The head's weight times the pool's scale (1/(H·W) for a mean).
    head_w: Vec<T>,
    head_b: T,
    /// 1/(H·W) for a mean pool, 1 for a sum: the head's gradient is taken before it.
    pool_scale: T,
    act: Act<T>,
}

fn values<T: Real>(t: &Tensor) -> Result<Vec<T>> {
    Ok(t.flatten_all()?.to_vec1::<T>()?)
}

impl<T: Real> FusedConvNet<T> {
    /// `head`: weight `[1, C_last]` and bias `[1]`.
    pub fn new(
        input: [usize; 3],
        convs: &[ConvSpec<'_>],
        head: (&Tensor, &Tensor),
        (activation, beta): (Activation, f64),
        pool: Pool,
    ) -> Result<Self> {
        let [mut cin, mut h, mut w] = input;
        let mut layers = Vec::with_capacity(convs.len());
        for (i, spec) in convs.iter().enumerate() {
            let layer = ConvLayer::new(spec, cin, (h, w), i)?;
            (cin, h, w) = (layer.cout, layer.shape.ho, layer.shape.wo);
            layers.push(layer);
        }
        let (head_w, head_b) = self::head(head, cin, pool, (h, w))?;
        Ok(FusedConvNet {
            input,
            convs: layers,
            head_w,
            head_b,
            pool_scale: T::from_f64(pool_scale(pool, (h, w))),
            act: Act {
                activation,
                beta: T::from_f64(beta),
            },
        })
    }
}

impl<T: Real> GroupPasses<T> for FusedConvNet<T> {
    type Acts = Activations<T>;

    fn input(&self) -> [usize; 3] {
        self.input
    }

    fn zero_grads(&self) -> Vec<LayerGrads<T>> {
        let mut grads: Vec<LayerGrads<T>> = self
            .convs
            .iter()
            .map(|l| LayerGrads::zeros(l.w.len(), l.b.len()))
            .collect();
        grads.push(LayerGrads::zeros(self.head_w.len(), 1));
        grads
    }

    /// φ(z) and φ'(z) of every layer.
    fn forward_group(&self, x: &[T], images: usize, threads: usize) -> Result<Activations<T>> {
        let input = input_strides(self.input);
        let mut acts = Activations {
            maps: Vec::with_capacity(self.convs.len()),
            slopes: Vec::with_capacity(self.convs.len()),
            images,
        };
        let mut cols = Vec::new();
        for (l, layer) in self.convs.iter().enumerate() {
            let sh = &layer.shape;
            let n = images * sh.out_pixels();
            let mut z = match l {
                0 => layer.forward(x, input, images, &mut cols, threads)?,
                _ => {
                    let st = internal_strides(images, (sh.h, sh.w));
                    layer.forward(&acts.maps[l - 1], st, images, &mut cols, threads)?
                }
            };
            let mut slope = vec![T::ZERO; z.len()];
            let rows = z.chunks_exact_mut(n).zip(slope.chunks_exact_mut(n));
            for ((z, slope), &b) in rows.zip(&layer.b) {
                self.act.apply(z, slope, b);
            }
            acts.maps.push(z);
            acts.slopes.push(slope);
        }
        Ok(acts)
    }

    fn energies(&self, acts: &Activations<T>, e: &mut [T]) -> Result<()> {
        let (Some(last), Some(top)) = (acts.maps.last(), self.convs.last()) else {
            return Err(Error::shape("fused conv", "no conv layers"));
        };
        head_energy(last, &self.head_w, self.head_b, top.shape.out_pixels(), e);
        Ok(())
    }

    fn backward_group(
        &self,
        x: &[T],
        mut acts: Activations<T>,
        seed: Option<&[T]>,
        grad: Option<&mut [T]>,
        mut params: Option<&mut Vec<LayerGrads<T>>>,
        threads: usize,
    ) -> Result<()> {
        let images = acts.images;
        let input = input_strides(self.input);
        let Some(top) = self.convs.last() else {
            return Err(Error::shape("fused conv", "no conv layers"));
        };
        let hw = top.shape.out_pixels();
        if let (Some(params), Some(seed), Some(last)) =
            (params.as_deref_mut(), seed, acts.maps.last())
        {
            let head = params.last_mut().expect("zero_grads has a head entry");
            head_param_grads((last, images, hw), seed, self.pool_scale, head);
        }

        // ∂E/∂z of the top layer: the head weight (pool scale included) times φ'(z), times the seed.
        let mut g = acts.slopes.pop().unwrap_or_default();
        for (row, &wc) in g.chunks_exact_mut(images * hw).zip(&self.head_w) {
            match seed {
                None => row.iter_mut().for_each(|v| *v *= wc),
                Some(seed) => {
                    for (part, &s) in row.chunks_exact_mut(hw).zip(seed) {
                        let f = wc * s;
                        part.iter_mut().for_each(|v| *v *= f);
                    }
                }
            }
        }
        let mut grad = grad;
        let mut cols = Vec::new();
        for (l, layer) in self.convs.iter().enumerate().rev() {
            let sh = &layer.shape;
            let st = internal_strides(images, (sh.h, sh.w));
            if let Some(params) = params.as_deref_mut() {
                let (src, src_st) = match l {
                    0 => (x, input),
                    _ => (&acts.maps[l - 1][..], st),
                };
                layer.weight_grad(
                    &g,
                    (src, src_st),
                    images,
                    &mut cols,
                    &mut params[l],
                    threads,
                );
            }
            if l == 0 {
                if let Some(grad) = grad.take() {
                    layer.backward(&g, images, &mut cols, grad, input, threads)?;
                }
            } else {
                let mut below = vec![T::ZERO; sh.cin * images * sh.h * sh.w];
                layer.backward(&g, images, &mut cols, &mut below, st, threads)?;
                let slope = acts.slopes.pop().unwrap_or_default();
                below.iter_mut().zip(&slope).for_each(|(v, &d)| *v *= d);
                g = below;
            }
        }
        Ok(())
    }
}

/// One group's forward, kept for its backward: φ(z) and φ'(z) per layer, `[C, G, H, W]`.
pub(crate) struct Activations<T> {
    maps: Vec<Vec<T>>,
    slopes: Vec<Vec<T>>,
    images: usize,
}
