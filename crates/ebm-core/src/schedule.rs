//! `Schedule`: a scalar over steps, for any hyper-parameter (step size, noise, temperature,
//! learning rate). In TOML a plain number is a constant; a table picks a shape:
//!
//! ```toml
//! step_size = 0.01
//! noise_scale = { kind = "linear", start = 1.0, end = 0.1, steps = 100 }
//! lr = { kind = "warmup", steps = 200, start = 0.0, then = { kind = "cosine", start = 1e-3, end = 1e-5, steps = 2000 } }
//! ```

use crate::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize};
use std::f64::consts::PI;

/// A value as a function of the step.
pub trait Schedule {
    fn value(&self, step: u64) -> f64;
}

/// The built-in schedule shapes, as written in TOML.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ScheduleConfig {
    Constant(f64),
    Shaped(Shape),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Shape {
    Constant {
        value: f64,
    },
    /// Straight line from `start` to `end` over `steps`, then `end`.
    Linear {
        start: f64,
        end: f64,
        steps: u64,
    },
    /// Half cosine from `start` to `end` over `steps`, then `end`.
    Cosine {
        start: f64,
        end: f64,
        steps: u64,
    },
    /// `start · rate^step`, never below `min`.
    Exponential {
        start: f64,
        rate: f64,
        #[serde(default)]
        min: f64,
    },
    /// Linear ramp from `start` to the `then` schedule's value over `steps`, then `then`.
    Warmup {
        steps: u64,
        #[serde(default)]
        start: f64,
        then: Box<ScheduleConfig>,
    },
}

// A hand-written Deserialize instead of `#[serde(untagged)]`: untagged enums report only "data did
// not match any variant", while this passes the tagged enum's precise error (unknown field, missing
// `kind`) through to the user.
impl<'de> Deserialize<'de> for ScheduleConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ScheduleConfig;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number or a schedule table with `kind`")
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<ScheduleConfig, E> {
                Ok(ScheduleConfig::Constant(v))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<ScheduleConfig, E> {
                Ok(ScheduleConfig::Constant(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<ScheduleConfig, E> {
                Ok(ScheduleConfig::Constant(v as f64))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<ScheduleConfig, A::Error> {
                Shape::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(ScheduleConfig::Shaped)
            }
        }
        d.deserialize_any(V)
    }
}

impl From<f64> for ScheduleConfig {
    fn from(v: f64) -> Self {
        ScheduleConfig::Constant(v)
    }
}

impl Schedule for ScheduleConfig {
    fn value(&self, step: u64) -> f64 {
        let shape = match self {
            ScheduleConfig::Constant(v) => return *v,
            ScheduleConfig::Shaped(s) => s,
        };
        let frac = |steps: u64| {
            if steps == 0 {
                1.0
            } else {
                (step as f64 / steps as f64).min(1.0)
            }
        };
        match shape {
            Shape::Constant { value } => *value,
            Shape::Linear { start, end, steps } => start + (end - start) * frac(*steps),
            Shape::Cosine { start, end, steps } => {
                end + (start - end) * 0.5 * (1.0 + (PI * frac(*steps)).cos())
            }
            Shape::Exponential { start, rate, min } => (start * rate.powf(step as f64)).max(*min),
            Shape::Warmup { steps, start, then } => {
                if step >= *steps {
                    then.value(step)
                } else {
                    start + (then.value(*steps) - start) * frac(*steps)
                }
            }
        }
    }
}

impl ScheduleConfig {
    /// The smallest and largest value the schedule can take.
    pub fn bounds(&self) -> (f64, f64) {
        let shape = match self {
            ScheduleConfig::Constant(v) => return (*v, *v),
            ScheduleConfig::Shaped(s) => s,
        };
        match shape {
            Shape::Constant { value } => (*value, *value),
            Shape::Linear { start, end, .. } | Shape::Cosine { start, end, .. } => {
                (start.min(*end), start.max(*end))
            }
            Shape::Exponential { start, rate, min } if *rate < 1.0 => {
                (start.min(*min), start.max(*min))
            }
            // A growing exponential has no upper bound.
            Shape::Exponential { start, .. } => (*start, f64::INFINITY),
            Shape::Warmup { start, then, .. } => {
                let (lo, hi) = then.bounds();
                (lo.min(*start), hi.max(*start))
            }
        }
    }

    fn check_shape(&self, key: &str) -> Result<()> {
        self.check_numbers(key)?;
        if let ScheduleConfig::Shaped(Shape::Exponential { rate, .. }) = self {
            if !(*rate > 0.0 && rate.is_finite()) {
                return Err(Error::config(
                    format!("{key}.rate"),
                    format!("must be a positive number, got {rate}"),
                ));
            }
        }
        let (lo, hi) = self.bounds();
        if lo.is_nan() || hi.is_nan() || lo == f64::NEG_INFINITY {
            return Err(Error::config(key, "schedule values must be finite numbers"));
        }
        Ok(())
    }

    /// Every number written in the schedule is finite (`f64::min` would drop a NaN from the
    /// bounds) and every shape that spans `steps` spans at least one.
    fn check_numbers(&self, key: &str) -> Result<()> {
        let finite = |name: &str, v: f64| {
            if v.is_finite() {
                Ok(())
            } else {
                let k = match name {
                    "" => key.to_string(),
                    n => format!("{key}.{n}"),
                };
                Err(Error::config(
                    k,
                    format!("must be a finite number, got {v}"),
                ))
            }
        };
        let steps = |n: u64| {
            if n == 0 {
                Err(Error::config(format!("{key}.steps"), "must be > 0"))
            } else {
                Ok(())
            }
        };
        let shape = match self {
            ScheduleConfig::Constant(v) => return finite("", *v),
            ScheduleConfig::Shaped(s) => s,
        };
        match shape {
            Shape::Constant { value } => finite("value", *value),
            Shape::Linear {
                start,
                end,
                steps: n,
            }
            | Shape::Cosine {
                start,
                end,
                steps: n,
            } => {
                finite("start", *start)?;
                finite("end", *end)?;
                steps(*n)
            }
            Shape::Exponential { start, rate, min } => {
                finite("start", *start)?;
                finite("rate", *rate)?;
                finite("min", *min)
            }
            Shape::Warmup {
                steps: n,
                start,
                then,
            } => {
                finite("start", *start)?;
                steps(*n)?;
                then.check_numbers(&format!("{key}.then"))
            }
        }
    }

    /// Checks that every value is > 0 (step sizes, learning rates).
    pub fn validate_positive(&self, key: &str) -> Result<()> {
        self.check_shape(key)?;
        let (lo, _) = self.bounds();
        if lo <= 0.0 {
            return Err(Error::config(key, format!("must be > 0, got {lo}")));
        }
        Ok(())
    }

    /// Checks that every value is ≥ 0 (noise scales, weights). A warm-up may start at 0.
    pub fn validate_non_negative(&self, key: &str) -> Result<()> {
        self.check_shape(key)?;
        let (lo, _) = self.bounds();
        if lo < 0.0 {
            return Err(Error::config(key, format!("must be >= 0, got {lo}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<ScheduleConfig, toml::de::Error> {
        #[derive(Deserialize)]
        struct W {
            s: ScheduleConfig,
        }
        toml::from_str::<W>(text).map(|w| w.s)
    }

    #[test]
    fn shapes_have_their_values() {
        assert_eq!(parse("s = 0.5").unwrap().value(99), 0.5);
        assert_eq!(parse("s = 2").unwrap().value(0), 2.0);
        let lin = parse("s = { kind = \"linear\", start = 1.0, end = 0.0, steps = 10 }").unwrap();
        assert_eq!((lin.value(0), lin.value(5), lin.value(50)), (1.0, 0.5, 0.0));
        let cos = parse("s = { kind = \"cosine\", start = 1.0, end = 0.0, steps = 10 }").unwrap();
        assert!((cos.value(5) - 0.5).abs() < 1e-12 && cos.value(10).abs() < 1e-12);
        assert!(cos.value(2) > lin.value(2));
        let exp =
            parse("s = { kind = \"exponential\", start = 1.0, rate = 0.5, min = 0.2 }").unwrap();
        assert_eq!((exp.value(1), exp.value(10)), (0.5, 0.2));
        let warm = parse("s = { kind = \"warmup\", steps = 4, then = 2.0 }").unwrap();
        assert_eq!(
            (warm.value(0), warm.value(2), warm.value(4)),
            (0.0, 1.0, 2.0)
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let e = parse("s = { kind = \"linear\", start = 1.0, end = 0.0, stepz = 3 }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("stepz"), "{e}");
        let e = parse("s = { kind = \"spline\" }").unwrap_err().to_string();
        assert!(e.contains("spline") && e.contains("cosine"), "{e}");
        let e = parse("s = \"fast\"").unwrap_err().to_string();
        assert!(e.contains("a number or a schedule"), "{e}");
    }

    #[test]
    fn validation_uses_the_whole_range() {
        let s = parse("s = { kind = \"linear\", start = 1.0, end = -0.1, steps = 3 }").unwrap();
        let e = s.validate_positive("sampler.step_size").unwrap_err();
        assert!(e.to_string().contains("sampler.step_size"));
        assert!(ScheduleConfig::Constant(0.0)
            .validate_positive("k")
            .is_err());
        assert!(ScheduleConfig::Constant(0.0)
            .validate_non_negative("k")
            .is_ok());
    }

    #[test]
    fn non_finite_values_and_zero_steps_are_refused() {
        for text in [
            "s = inf",
            "s = nan",
            "s = { kind = \"linear\", start = nan, end = 0.1, steps = 3 }",
            "s = { kind = \"cosine\", start = 1.0, end = inf, steps = 3 }",
            "s = { kind = \"warmup\", steps = 3, then = { kind = \"linear\", start = 1.0, end = nan, steps = 3 } }",
            "s = { kind = \"exponential\", start = 1.0, rate = 0.5, min = nan }",
        ] {
            let e = parse(text).unwrap().validate_positive("optim.lr").unwrap_err();
            assert!(e.to_string().contains("optim.lr") && e.to_string().contains("finite"), "{text}: {e}");
        }
        for text in [
            "s = { kind = \"linear\", start = 1.0, end = 0.1, steps = 0 }",
            "s = { kind = \"warmup\", steps = 0, start = 0.1, then = 1.0 }",
        ] {
            let e = parse(text).unwrap().validate_non_negative("k").unwrap_err();
            assert!(e.to_string().contains("k.steps"), "{text}: {e}");
        }
    }
}
