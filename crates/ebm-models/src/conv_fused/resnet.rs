//! The fused forward and ∇ₓE of the IGEBM-style ResNet energy (`crate::ResNet`): stem conv,
//! stages of residual blocks with 2×2 average pooling between them, global pool, linear head.
//! Same building blocks as the plain conv energy (one GEMM per conv and per input gradient);
//! the backward adds the two branches of each block:
//! g_in = conv1ᵀ(conv2ᵀ(g ⊙ φ'(out)) ⊙ φ'(z₁)) + skipᵀ(g ⊙ φ'(out)) (or + g ⊙ φ'(out) for the
//! identity skip), and average pooling sends g/4 to each of the four inputs.

use super::{
    head, head_energy, input_strides, internal_strides, run_groups, Act, ConvLayer, ConvSpec,
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
    act: Act<T>,
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
            act: Act {
                activation,
                beta: T::from_f64(beta),
            },
        })
    }

    /// E for every image of `x` (`[B, C, H, W]`), and ∇ₓE (same layout) if `want_grad`.
    pub fn run(&self, x: &[T], want_grad: bool) -> Result<(Vec<T>, Option<Vec<T>>)> {
        run_groups(self.input, x, want_grad, |x, e, g, threads| {
            self.group(x, e, g, threads)
        })
    }

    fn group(&self, x: &[T], e: &mut [T], grad: Option<&mut [T]>, threads: usize) -> Result<()> {
        let images = e.len();
        let mut cols = Vec::new();
        let sh = &self.stem.shape;
        let mut h = self
            .stem
            .forward(x, input_strides(self.input), images, &mut cols, threads)?;
        add_bias(&mut h, &self.stem.b);
        let (mut hh, mut ww) = (sh.ho, sh.wo);
        // φ'(z₁) and φ'(out) of every block, in forward order.
        let mut slopes: Vec<(Vec<T>, Vec<T>)> = Vec::new();
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
                slopes.push((slope1, slope2));
                h = out;
            }
        }
        head_energy(&h, &self.head_w, self.head_b, hh * ww, e);
        let Some(grad) = grad else { return Ok(()) };

        // ∂E/∂h of the last map: the head weight (pool scale included) on every pixel.
        let mut g = vec![T::ZERO; h.len()];
        for (row, &wc) in g.chunks_exact_mut(images * hh * ww).zip(&self.head_w) {
            row.fill(wc);
        }
        for (s, blocks) in self.stages.iter().enumerate().rev() {
            let st = internal_strides(images, (hh, ww));
            for block in blocks.iter().rev() {
                let (slope1, slope2) = slopes.pop().unwrap_or_default();
                mul(&mut g, &slope2);
                let mut ga = vec![T::ZERO; block.conv2.shape.cin * images * hh * ww];
                block
                    .conv2
                    .backward(&g, images, &mut cols, &mut ga, st, threads)?;
                mul(&mut ga, &slope1);
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
        self.stem.backward(
            &g,
            images,
            &mut cols,
            grad,
            input_strides(self.input),
            threads,
        )
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
