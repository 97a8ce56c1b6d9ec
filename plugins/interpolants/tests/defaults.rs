//! The VP path's defaults are written once, in its `impl Default`: an empty table parses to
//! exactly that, a partial one changes only what it names, unknown keys are still rejected, and
//! the values are pinned to those of earlier releases.

use ebm_interpolants::VpParams;

#[test]
fn defaults_are_written_once_and_unchanged() {
    assert_eq!(toml::from_str::<VpParams>("").unwrap(), VpParams::default());
    assert_eq!(
        VpParams::default(),
        VpParams {
            beta_min: 0.1,
            beta_max: 20.0
        }
    );
    assert_eq!(
        toml::from_str::<VpParams>("beta_max = 10.0").unwrap(),
        VpParams {
            beta_max: 10.0,
            ..VpParams::default()
        }
    );
    assert!(toml::from_str::<VpParams>("beta = 1.0").is_err());
}
