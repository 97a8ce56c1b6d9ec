//! The key inside `[data]` or `[model]` that a config error is about (issue 17, D7). Both tables
//! are internally tagged enums (`kind` picks the type); serde buffers such a table before choosing
//! the variant and then reports every problem at the table itself (`config key \`data\``). So
//! the table is parsed again, without `kind`, as the variant's own type with the path tracked,
//! which names the key (`data.n_samples`) and lets its origin (file, environment, `--set`) be
//! found.

pub use ebm_core::by_found_value;
use ebm_data::{
    Checkerboard, Cifar10, Circles, EightGaussians, FashionMnist, GaussianMixture, Pinwheel,
    SwissRoll, TwoMoons, TwoSpirals,
};
use ebm_models::{ConvConfig, MlpConfig, ResNetConfig};
use serde::de::DeserializeOwned;

/// `(key, message)` of the first problem in `table` (the value at `section`, a top-level table
/// of the config), or `None` when this cannot say more than the table-level error.
pub fn locate(section: &str, table: &toml::Value) -> Option<(String, String)> {
    let kind = table.get("kind")?.as_str()?;
    let mut rest = table.as_table()?.clone();
    rest.remove("kind");
    match (section, kind) {
        ("data", "two_moons") => within::<TwoMoons>(section, rest),
        ("data", "eight_gaussians") => within::<EightGaussians>(section, rest),
        ("data", "gaussian_mixture") => within::<GaussianMixture>(section, rest),
        ("data", "swiss_roll") => within::<SwissRoll>(section, rest),
        ("data", "circles") => within::<Circles>(section, rest),
        ("data", "checkerboard") => within::<Checkerboard>(section, rest),
        ("data", "pinwheel") => within::<Pinwheel>(section, rest),
        ("data", "two_spirals") => within::<TwoSpirals>(section, rest),
        ("data", "fashion_mnist") => within::<FashionMnist>(section, rest),
        ("data", "cifar10") => within::<Cifar10>(section, rest),
        ("model", "mlp") => within::<MlpConfig>(section, rest),
        ("model", "conv") => within::<ConvConfig>(section, rest),
        ("model", "resnet") => within::<ResNetConfig>(section, rest),
        _ => None,
    }
}

fn within<T: DeserializeOwned>(section: &str, rest: toml::Table) -> Option<(String, String)> {
    ebm_core::parse_table::<T>(section, &rest).err()
}
