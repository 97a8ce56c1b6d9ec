//! The kit fails plugins that break the contract: each broken plugin here is registered under
//! its own name, and the check that must catch it is named.

use candle_core::{Tensor, D};
use ebm_core::{
    rng, Chains, Energy, Error, Loss, LossOut, Model, PluginArgs, Result, Sampler, StepCtx,
    StepInfo, TrainCtx,
};
use ebm_testing::{LossCheck, SamplerCheck};
use std::sync::atomic::{AtomicU64, Ordering};

/// Langevin with a configurable flaw.
#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Flawed {
    /// Noise √η instead of √(2η): samples exp(−2E), the wrong temperature.
    half_noise: bool,
    /// Only works on [B, D] chains.
    two_d_only: bool,
    /// Draws its noise from a global counter instead of the context's stream.
    unseeded: bool,
    /// Panics on a negative step instead of returning a config error.
    step: Option<f64>,
}

static GLOBAL: AtomicU64 = AtomicU64::new(0);

impl Sampler for Flawed {
    fn name(&self) -> &'static str {
        "flawed"
    }

    fn step(
        &mut self,
        energy: &dyn Energy,
        chains: &mut Chains,
        ctx: &mut StepCtx,
    ) -> Result<StepInfo> {
        let eta = self.step.unwrap_or(0.05);
        let x = chains.x();
        if self.two_d_only && x.rank() != 2 {
            panic!("expected [B, D] chains");
        }
        let noise = if self.unseeded {
            let mut r = rng::stream(GLOBAL.fetch_add(1, Ordering::Relaxed), "global", 0);
            rng::randn(&mut r, x.dims(), x.device())?
        } else {
            rng::randn(ctx.rng, x.dims(), x.device())?
        };
        let scale = if self.half_noise {
            eta.sqrt()
        } else {
            (2.0 * eta).sqrt()
        };
        chains.set_x(((x - (energy.grad(x)? * eta)?)? + (noise * scale)?)?);
        Ok(StepInfo::default())
    }
}

fn build_flawed(args: &PluginArgs) -> Result<Box<dyn Sampler>> {
    let s: Flawed = args.parse()?;
    assert!(s.step.is_none_or(|e| e > 0.0), "negative step");
    Ok(Box::new(s))
}

ebm_core::register_sampler!("flawed", build_flawed);

#[test]
fn a_correct_langevin_passes() {
    SamplerCheck::new("flawed").exact().run().unwrap();
}

#[test]
fn each_flaw_is_caught_by_its_check() {
    let check = |params: &str| {
        SamplerCheck::new("flawed")
            .params(params)
            .exact()
            .run()
            .unwrap_err()
    };
    assert_eq!(check("half_noise = true").check, "exactness");
    assert_eq!(check("two_d_only = true").check, "shapes");
    assert_eq!(check("unseeded = true").check, "reproducibility");
    let f = SamplerCheck::new("flawed")
        .rejects("step = -1.0", "step")
        .run()
        .unwrap_err();
    assert_eq!(f.check, "bad parameters");
    assert!(f.message.contains("panicked"), "{f}");
}

#[test]
fn unknown_names_and_typos_are_reported() {
    assert_eq!(
        SamplerCheck::new("no_such_sampler")
            .run()
            .unwrap_err()
            .check,
        "registered"
    );
    let f = SamplerCheck::new("flawed")
        .params("step = ")
        .run()
        .unwrap_err();
    assert_eq!(f.check, "config");
}

/// E(x⁺) − E(x⁻) with negatives from the sampler, and a flaw: a hidden step counter that
/// changes the loss and is not in any checkpointed state.
#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Leaky {
    hidden_state: bool,
    #[serde(skip)]
    calls: u64,
    #[serde(skip)]
    bank: Option<ebm_core::ChainBank>,
}

impl Loss for Leaky {
    fn name(&self) -> &'static str {
        "leaky"
    }

    fn init(&mut self, shape: &[usize], rng: &mut ebm_core::Rng) -> Result<()> {
        self.bank = Some(ebm_core::ChainBank::new(64, shape, Default::default(), rng));
        Ok(())
    }

    fn forward(&mut self, model: &dyn Model, x: &Tensor, ctx: &mut TrainCtx) -> Result<LossOut> {
        let bank = self
            .bank
            .as_mut()
            .ok_or_else(|| Error::plugin("leaky", "no init"))?;
        let drawn = bank.draw(x.dims()[0], 0.0, ctx.rng, x.device())?;
        let mut chains = Chains::new(drawn.x);
        ebm_core::run_chains(
            ctx.sampler,
            model.detached().as_ref(),
            &mut chains,
            2,
            ctx.rng,
        )?;
        bank.write_back(&drawn.slots, chains.x())?;
        self.calls += 1;
        let w = if self.hidden_state {
            self.calls as f64
        } else {
            1.0
        };
        let loss = ((model.energy(x)?.mean(D::Minus1)?
            - model.energy(chains.x())?.mean(D::Minus1)?)?
            * w)?;
        Ok(LossOut {
            loss,
            metrics: vec![],
        })
    }

    fn chain_bank(&self) -> Option<&ebm_core::ChainBank> {
        self.bank.as_ref()
    }

    fn chain_bank_mut(&mut self) -> Option<&mut ebm_core::ChainBank> {
        self.bank.as_mut()
    }
}

ebm_core::register_loss!("leaky", |args| Ok(Box::new(args.parse::<Leaky>()?)));

#[test]
fn a_loss_with_state_outside_its_bank_fails_the_round_trip() {
    let report = LossCheck::new("leaky").run().unwrap();
    assert!(
        report.has_chain_bank && !report.has_gradient_path,
        "{report:?}"
    );
    let f = LossCheck::new("leaky")
        .params("hidden_state = true")
        .run()
        .unwrap_err();
    assert_eq!(f.check, "checkpoint round trip", "{f}");
}
