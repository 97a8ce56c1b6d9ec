//! Default parameter values, one function each because serde's `default = "..."` takes a
//! function path. The values are those of the reference implementations (see each variant).

pub fn n_samples() -> usize {
    2000
}
pub fn u5() -> usize {
    5
}
pub fn u8() -> usize {
    8
}
pub fn f0() -> f64 {
    0.0
}
pub fn f0_02() -> f64 {
    0.02
}
pub fn f0_05() -> f64 {
    0.05
}
pub fn f0_1() -> f64 {
    0.1
}
pub fn f0_5() -> f64 {
    0.5
}
pub fn f1() -> f64 {
    1.0
}
pub fn f2() -> f64 {
    2.0
}
pub fn f3() -> f64 {
    3.0
}
pub fn f4() -> f64 {
    4.0
}
pub fn f5() -> f64 {
    5.0
}
pub fn fashion_mnist_dir() -> std::path::PathBuf {
    "/usr/share/datasets/fashion-mnist".into()
}
pub fn cifar10_dir() -> std::path::PathBuf {
    "data/cifar-10-batches-bin".into()
}
