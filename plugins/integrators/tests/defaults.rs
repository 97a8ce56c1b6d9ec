//! Dopri5's defaults are written once, in its `impl Default`: an empty `[integrator]` table
//! parses to exactly that, a partial one changes only what it names, unknown keys are still
//! rejected, and the values are pinned to those of earlier releases.

use ebm_integrators::Dopri5Params;
use serde::de::value::{Error as ValueError, MapDeserializer};
use serde::Deserialize;

fn parse(pairs: &[(&'static str, f64)]) -> Result<Dopri5Params, ValueError> {
    Dopri5Params::deserialize(MapDeserializer::<_, ValueError>::new(pairs.iter().copied()))
}

#[test]
fn defaults_are_written_once_and_unchanged() {
    assert_eq!(parse(&[]).unwrap(), Dopri5Params::default());
    assert_eq!(
        Dopri5Params::default(),
        Dopri5Params {
            rtol: 1e-5,
            atol: 1e-5,
            max_steps: 10_000
        }
    );
    assert_eq!(
        parse(&[("rtol", 1e-3)]).unwrap(),
        Dopri5Params {
            rtol: 1e-3,
            ..Dopri5Params::default()
        }
    );
    assert!(parse(&[("rtl", 1e-3)]).is_err());
}
