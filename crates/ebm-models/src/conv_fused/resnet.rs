//! The fused forward and ∇ₓE of the IGEBM-style ResNet energy (`crate::ResNet`): stem conv,
//! stages of residual blocks with 2×2 average pooling between them, global pool, linear head.
//! Same building blocks as the plain conv energy (one GEMM per conv and per input gradient);
//! the backward adds the two branches of each block:
//! g_in = conv1ᵀ(conv2ᵀ(g ⊙ φ'(out)) ⊙ φ'(z₁)) + skipᵀ(g ⊙ φ'(out)) (or + g ⊙ φ'(out) for the
//! identity skip), and average pooling sends g/4 to each of the four inputs.

use super::{
    head, head_energy, head_param_grads, input_strides, internal_strides, pool_scale, Act,
    ConvLayer, ConvSpec, GroupPasses, LayerGrads,
};
use crate::{Activation, Pool};
use candle_core::Tensor;
use ebm_core::{Error, Result};
use ebm_kernels::Real;

/// One residual block's convs (spectrally normalised weights already applied).
pub(crate) struct ResBlockSpec<'a> {
    pub conv1: ConvSpec<'a>,
    pub conv2: ConvSpec<'a>,
    pub skip: Option<ConvSpec<'a>>,
}

struct Block<T> {
    conv1: ConvLayer<T>,
    conv2: ConvLayer<T>,
    skip: Option<ConvLayer<T>>,
}

/// A ResNet energy's weights copied out of candle, ready for [`FusedResNet::run`].
pub(crate) struct FusedResNet<T> {
    input: [usize; 3],
    stem: ConvLayer<T>,
    /// Blocks per stage; every stage after the first average-pools 2×2 first.
    stages: Vec<Vec<Block<T>>>,
    head_w: Vec<T>,
    head_b: T,
    /// 1/(H·W) for a mean pool, 1 for a sum: the head's gradient is taken before it.
    pool_scale: T,
    /// H×W of the last map, after every stage's pooling.
    last_hw: (usize, usize),
    act: Act<T>,
}

/// One block's forward, kept for its backward (`[C, G, H, W]` maps).
pub(crate) struct BlockActs<T> {
    /// The block's input (conv1's and the skip's).
    input: Vec<T>,
    /// φ(z₁), conv2's input.
    a1: Vec<T>,
    slope1: Vec<T>,
    slope2: Vec<T>,
}

/// One group's forward: every block's activations and the last map.
pub(crate) struct Acts<T> {
    blocks: Vec<BlockActs<T>>,
    last: Vec<T>,
    images: usize,
}

impl<T: Real> FusedResNet<T> {
    pub fn new(
        input: [usize; 3],
        stem: &ConvSpec<'_>,
        stages: &[Vec<ResBlockSpec<'_>>],
        head_wb: (&Tensor, &Tensor),
        (activation, beta): (Activation, f64),
        pool: Pool,
    ) -> Result<Self> {
        let [c0, h0, w0] = input;
        let stem = ConvLayer::new(stem, c0, (h0, w0), 0)?;
        let (mut c, mut h, mut w) = (stem.cout, stem.shape.ho, stem.shape.wo);
        let mut layer = 1;
        let mut out = Vec::with_capacity(stages.len());
        for (s, specs) in stages.iter().enumerate() {
            if s > 0 {
                if h % 2 != 0 || w % 2 != 0 {
                    return Err(Error::shape(
                        "fused resnet",
                        format!("stage {s} pools a {h}×{w} map (needs even sides)"),
                    ));
                }
                (h, w) = (h / 2, w / 2);
            }
            let mut blocks = Vec::with_capacity(specs.len());
            for spec in specs {
                let conv1 = ConvLayer::new(&spec.conv1, c, (h, w), layer)?;
                let conv2 = ConvLayer::new(&spec.conv2, conv1.cout, (h, w), layer + 1)?;
                let skip = match &spec.skip {
                    Some(p) => Some(ConvLayer::new(p, c, (h, w), layer + 2)?),
                    None => None,
                };
                layer += 3;
                let skip_out = skip
                    .as_ref()
                    .map_or((c, h, w), |p| (p.cout, p.shape.ho, p.shape.wo));
                let main_out = (conv2.cout, conv2.shape.ho, conv2.shape.wo);
                if conv1.shape.ho != h || conv1.shape.wo != w || main_out != skip_out {
                    return Err(Error::shape(
                        "fused resnet",
                        format!(
                            "a block of stage {s} maps {c}×{h}×{w} to {main_out:?} but its \
                             skip to {skip_out:?}"
                        ),
                    ));
                }
                c = conv2.cout;
                blocks.push(Block { conv1, conv2, skip });
            }
            out.push(blocks);
        }
        let (head_w, head_b) = head(head_wb, c, pool, (h, w))?;
        Ok(FusedResNet {
            input,
            stem,
            stages: out,
            head_w,
            head_b,
            pool_scale: T::from_f64(pool_scale(pool, (h, w))),
            last_hw: (h, w),
            act: Act {
                activation,
                beta: T::from_f64(beta),
            },
        })
    }

    /// Every conv in `layers()` order, then nothing (the head is added by the caller).
    fn convs(&self) -> impl Iterator<Item = &ConvLayer<T>> {
        let blocks = self
            .stages
            .iter()
            .flatten()
            .flat_map(|b| [&b.conv1, &b.conv2].into_iter().chain(b.skip.as_ref()));
        [&self.stem].into_iter().chain(blocks)
    }

    /// Pixels of the last map (after every stage's pooling).
    fn last_pixels(&self) -> usize {
        self.last_hw.0 * self.last_hw.1
    }

    /// z ← φ(z + b) row by row (a row per channel), returning φ'.
    fn activate(&self, z: &mut [T], b: &[T]) -> Vec<T> {
        let mut slope = vec![T::ZERO; z.len()];
        let n = z.len() / b.len().max(1);
        let rows = z.chunks_exact_mut(n).zip(slope.chunks_exact_mut(n));
        for ((z, slope), &b) in rows.zip(b) {
            self.act.apply(z, slope, b);
        }
        slope
    }
}

impl<T: Real> GroupPasses<T> for FusedResNet<T> {
    type Acts = Acts<T>;

    fn input(&self) -> [usize; 3] {
        self.input
    }

    fn energies(&self, acts: &Acts<T>, e: &mut [T]) -> Result<()> {
        head_energy(&acts.last, &self.head_w, self.head_b, self.last_pixels(), e);
        Ok(())
    }

    fn zero_grads(&self) -> Vec<LayerGrads<T>> {
        let mut grads: Vec<LayerGrads<T>> = self
            .convs()
            .map(|l| LayerGrads::zeros(l.w.len(), l.b.len()))
            .collect();
        grads.push(LayerGrads::zeros(self.head_w.len(), 1));
        grads
    }

    fn forward_group(&self, x: &[T], images: usize, threads: usize) -> Result<Acts<T>> {
        let mut cols = Vec::new();
        let sh = &self.stem.shape;
        let mut h = self
            .stem
            .forward(x, input_strides(self.input), images, &mut cols, threads)?;
        add_bias(&mut h, &self.stem.b);
        let (mut hh, mut ww) = (sh.ho, sh.wo);
        let mut blocks_acts = Vec::new();
        for (s, blocks) in self.stages.iter().enumerate() {
            if s > 0 {
                h = avg_pool2(&h, hh, ww);
                (hh, ww) = (hh / 2, ww / 2);
            }
            let st = internal_strides(images, (hh, ww));
            for block in blocks {
                let mut z1 = block.conv1.forward(&h, st, images, &mut cols, threads)?;
                let slope1 = self.activate(&mut z1, &block.conv1.b);
                let mut out = block.conv2.forward(&z1, st, images, &mut cols, threads)?;
                match &block.skip {
                    Some(p) => {
                        let mut sk = p.forward(&h, st, images, &mut cols, threads)?;
                        add_bias(&mut sk, &p.b);
                        add(&mut out, &sk);
                    }
                    None => add(&mut out, &h),
                }
                let slope2 = self.activate(&mut out, &block.conv2.b);
                blocks_acts.push(BlockActs {
                    input: std::mem::replace(&mut h, out),
                    a1: z1,
                    slope1,
                    slope2,
                });
            }
        }
        Ok(Acts {
            blocks: blocks_acts,
            last: h,
            images,
        })
    }

    fn backward_group(
        &self,
        x: &[T],
        mut acts: Acts<T>,
        seed: Option<&[T]>,
        grad: Option<&mut [T]>,
        mut params: Option<&mut Vec<LayerGrads<T>>>,
        threads: usize,
    ) -> Result<()> {
        let images = acts.images;
        let mut cols = Vec::new();
        let hw = self.last_pixels();
        let (mut hh, mut ww) = self.last_hw;
        if let (Some(params), Some(seed)) = (params.as_deref_mut(), seed) {
            let head = params.last_mut().expect("zero_grads has a head entry");
            head_param_grads((&acts.last, images, hw), seed, self.pool_scale, head);
        }
        // ∂E/∂h of the last map: the head weight (pool scale included) on every pixel, times
        // the seed.
        let mut g = vec![T::ZERO; acts.last.len()];
        for (row, &wc) in g.chunks_exact_mut(images * hw).zip(&self.head_w) {
            match seed {
                None => row.fill(wc),
                Some(seed) => {
                    for (part, &s) in row.chunks_exact_mut(hw).zip(seed) {
                        part.fill(wc * s);
                    }
                }
            }
        }
        // Layer indices into `params` (stem = 0), walked backwards.
        let mut index = self.convs().count();
        for (s, blocks) in self.stages.iter().enumerate().rev() {
            let st = internal_strides(images, (hh, ww));
            for block in blocks.iter().rev() {
                let a = acts.blocks.pop().expect("one activation record per block");
                let skip_index = block.skip.as_ref().map(|_| index - 1);
                index -= 2 + usize::from(block.skip.is_some());
                let (i1, i2) = (index, index + 1);
                mul(&mut g, &a.slope2);
                if let Some(params) = params.as_deref_mut() {
                    block.conv2.weight_grad(
                        &g,
                        (&a.a1, st),
                        images,
                        &mut cols,
                        &mut params[i2],
                        threads,
                    );
                    if let (Some(p), Some(i)) = (&block.skip, skip_index) {
                        p.weight_grad(
                            &g,
                            (&a.input, st),
                            images,
                            &mut cols,
                            &mut params[i],
                            threads,
                        );
                    }
                }
                let mut ga = vec![T::ZERO; block.conv2.shape.cin * images * hh * ww];
                block
                    .conv2
                    .backward(&g, images, &mut cols, &mut ga, st, threads)?;
                mul(&mut ga, &a.slope1);
                if let Some(params) = params.as_deref_mut() {
                    block.conv1.weight_grad(
                        &ga,
                        (&a.input, st),
                        images,
                        &mut cols,
                        &mut params[i1],
                        threads,
                    );
                }
                let mut gin = vec![T::ZERO; block.conv1.shape.cin * images * hh * ww];
                block
                    .conv1
                    .backward(&ga, images, &mut cols, &mut gin, st, threads)?;
                match &block.skip {
                    Some(p) => {
                        let mut gs = vec![T::ZERO; gin.len()];
                        p.backward(&g, images, &mut cols, &mut gs, st, threads)?;
                        add(&mut gin, &gs);
                    }
                    None => add(&mut gin, &g),
                }
                g = gin;
            }
            if s > 0 {
                g = avg_pool2_backward(&g, hh, ww);
                (hh, ww) = (hh * 2, ww * 2);
            }
        }
        let input = input_strides(self.input);
        if let Some(params) = params {
            self.stem
                .weight_grad(&g, (x, input), images, &mut cols, &mut params[0], threads);
        }
        match grad {
            Some(grad) => self
                .stem
                .backward(&g, images, &mut cols, grad, input, threads),
            None => Ok(()),
        }
    }
}

fn add<T: Real>(a: &mut [T], b: &[T]) {
    a.iter_mut().zip(b).for_each(|(a, &b)| *a += b);
}

fn mul<T: Real>(a: &mut [T], b: &[T]) {
    a.iter_mut().zip(b).for_each(|(a, &b)| *a *= b);
}

/// z[c, ·] += b[c] for `[C, …]` rows.
fn add_bias<T: Real>(z: &mut [T], b: &[T]) {
    let n = z.len() / b.len().max(1);
    for (row, &b) in z.chunks_exact_mut(n).zip(b) {
        row.iter_mut().for_each(|v| *v += b);
    }
}

/// 2×2 average pooling with stride 2 of every h×w plane (h, w even).
fn avg_pool2<T: Real>(src: &[T], h: usize, w: usize) -> Vec<T> {
    let quarter = T::from_f64(0.25);
    let (ho, wo) = (h / 2, w / 2);
    let mut out = Vec::with_capacity(src.len() / 4);
    for plane in src.chunks_exact(h * w) {
        for y in 0..ho {
            let (r0, r1) = (&plane[2 * y * w..][..w], &plane[(2 * y + 1) * w..][..w]);
            for x in 0..wo {
                let sum = r0[2 * x] + r0[2 * x + 1] + r1[2 * x] + r1[2 * x + 1];
                out.push(sum * quarter);
            }
        }
    }
    out
}

/// The adjoint of [`avg_pool2`]: each input of a window gets a quarter of its output's gradient.
fn avg_pool2_backward<T: Real>(g: &[T], ho: usize, wo: usize) -> Vec<T> {
    let quarter = T::from_f64(0.25);
    let (h, w) = (2 * ho, 2 * wo);
    let mut out = vec![T::ZERO; g.len() * 4];
    for (plane, gp) in out.chunks_exact_mut(h * w).zip(g.chunks_exact(ho * wo)) {
        for y in 0..h {
            for x in 0..w {
                plane[y * w + x] = gp[(y / 2) * wo + x / 2] * quarter;
            }
        }
    }
    out
}
