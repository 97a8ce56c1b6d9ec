//! The conv and ResNet energies: ∇ₓE equals central finite differences in f64, the benchmark
//! network has the hand-counted parameters, energies are finite on images, init is seeded, and
//! the config rejects what it cannot build with the key to fix.

mod common;

use candle_core::{DType, Device, Tensor};
use common::{finite_difference_grad, images, values};
use ebm_core::{rng, Error, Model};
use ebm_models::{
    Activation, ConvConfig, ConvLayerConfig, ConvNet, ModelConfig, Pool, ResNet, ResNetConfig,
};

fn assert_grad_matches_fd(name: &str, model: &dyn Model, x: &Tensor) {
    let view = model.detached();
    let g = view.grad(x).unwrap();
    assert_eq!(g.dims(), x.dims(), "{name}: ∇ₓE shape");
    let fd = finite_difference_grad(view.as_ref(), x);
    let g = values(&g);
    let scale = 1.0 + fd.iter().fold(0f64, |m, v| m.max(v.abs()));
    let worst = g
        .iter()
        .zip(&fd)
        .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        worst < 1e-6 * scale,
        "{name}: ∇ₓE differs from FD by {worst}"
    );
    // The trainable model's autograd path works on [B, C, H, W] too. With spectral norm its
    // forward first runs one power iteration, so compare with a view made after it.
    let g_model = values(&model.grad(x).unwrap());
    let g = values(&model.detached().grad(x).unwrap());
    let d = g
        .iter()
        .zip(&g_model)
        .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        d < 1e-9 * scale,
        "{name}: model and detached view differ by {d}"
    );
}

fn small_conv(spectral_norm: bool, pool: Pool) -> ConvConfig {
    let l = |channels, kernel, stride, padding| ConvLayerConfig {
        channels,
        kernel,
        stride,
        padding,
    };
    ConvConfig {
        layers: vec![l(4, 3, 1, 1), l(5, 4, 2, 1), l(3, 3, 2, 0)],
        activation: Activation::Swish,
        swish_beta: 1.5,
        spectral_norm,
        pool,
    }
}

fn small_resnet(spectral_norm: bool) -> ResNetConfig {
    ResNetConfig {
        channels: vec![4, 6],
        blocks: vec![1, 2],
        activation: Activation::Elu,
        spectral_norm,
        ..ResNetConfig::default()
    }
}

#[test]
fn conv_grad_equals_finite_differences() {
    let dev = Device::Cpu;
    for (sn, pool) in [(false, Pool::Mean), (true, Pool::Sum)] {
        let mut r = rng::stream(1, "init", 0);
        let m =
            ConvNet::new_with_dtype(&small_conv(sn, pool), &[1, 6, 6], &mut r, &dev, DType::F64)
                .unwrap();
        let x = images(2, &[2, 1, 6, 6], DType::F64);
        assert_grad_matches_fd(&format!("conv sn={sn}"), &m, &x);
    }
}

#[test]
fn resnet_grad_equals_finite_differences() {
    let dev = Device::Cpu;
    for sn in [false, true] {
        let mut r = rng::stream(3, "init", 0);
        let m = ResNet::new_with_dtype(&small_resnet(sn), &[3, 8, 8], &mut r, &dev, DType::F64)
            .unwrap();
        let x = images(4, &[2, 3, 8, 8], DType::F64);
        assert_grad_matches_fd(&format!("resnet sn={sn}"), &m, &x);
    }
}

#[test]
fn benchmark_network_parameter_count() {
    // 3·64·9 + 64 + 64·128·16 + 128 + 128·128·16 + 128 + 128 + 1
    let expected = 1_792 + 131_200 + 262_272 + 129;
    assert_eq!(expected, 395_393);
    let toml = r#"
        kind = "conv"
        layers = [
          { channels = 64, kernel = 3, padding = 1 },
          { channels = 128, kernel = 4, stride = 2, padding = 1 },
          { channels = 128, kernel = 4, stride = 2, padding = 1 },
        ]
    "#;
    let from_toml: ModelConfig = toml::from_str(toml).unwrap();
    assert_eq!(from_toml, ModelConfig::Conv(ConvConfig::default()));
    let mut r = rng::stream(0, "init", 0);
    let m = from_toml.build(&[3, 32, 32], &mut r, &Device::Cpu).unwrap();
    let count: usize = m.params().iter().map(|p| p.var.elem_count()).sum();
    assert_eq!(count, expected);
    assert_eq!(m.input_shape(), vec![3, 32, 32]);
}

#[test]
fn energies_are_finite_on_random_images() {
    let dev = Device::Cpu;
    let x = images(5, &[4, 3, 32, 32], DType::F32);
    let mut r = rng::stream(0, "init", 0);
    let configs = [
        ModelConfig::Conv(ConvConfig::default()),
        ModelConfig::Conv(ConvConfig {
            spectral_norm: true,
            ..ConvConfig::default()
        }),
        ModelConfig::ResNet(ResNetConfig {
            spectral_norm: true,
            ..ResNetConfig::default()
        }),
    ];
    for config in configs {
        let m = config.build(&[3, 32, 32], &mut r, &dev).unwrap();
        let e = values(&m.energy(&x).unwrap());
        assert_eq!(e.len(), 4);
        assert!(e.iter().all(|v| v.is_finite()), "{config:?}: {e:?}");
        let g = m.detached().grad(&x).unwrap();
        assert_eq!(g.dims(), x.dims());
        assert!(values(&g).iter().all(|v| v.is_finite()));
        // Flat rows [B, C·H·W] are read as the same images.
        let flat = values(&m.detached().energy(&x.flatten_from(1).unwrap()).unwrap());
        let view = values(&m.detached().energy(&x).unwrap());
        assert_eq!(flat, view);
    }
}

#[test]
fn initial_weights_are_seeded() {
    let dev = Device::Cpu;
    let config = ModelConfig::ResNet(ResNetConfig {
        channels: vec![4, 8],
        blocks: vec![1, 1],
        spectral_norm: true,
        ..ResNetConfig::default()
    });
    let build = |seed| {
        let m = config
            .build(&[3, 8, 8], &mut rng::stream(seed, "init", 0), &dev)
            .unwrap();
        let x = images(6, &[2, 3, 8, 8], DType::F32);
        let mut all: Vec<f64> = m
            .params()
            .iter()
            .flat_map(|p| values(p.var.as_tensor()))
            .collect();
        all.extend(values(&m.detached().energy(&x).unwrap()));
        all
    };
    assert_eq!(build(7), build(7));
    assert_ne!(build(7), build(8));
}

fn config_key(e: Error) -> String {
    match e {
        Error::Config { key, .. } => key,
        other => panic!("expected a config error, got {other}"),
    }
}

#[test]
fn config_errors_name_the_key() {
    let dev = Device::Cpu;
    let mut r = rng::stream(0, "init", 0);
    let err =
        |c: ModelConfig, shape: &[usize]| match c.build(shape, &mut rng::stream(0, "i", 0), &dev) {
            Ok(_) => panic!("{c:?} on {shape:?} should fail"),
            Err(e) => config_key(e),
        };
    // A conv or ResNet on 2-D points.
    assert_eq!(
        err(ModelConfig::Conv(ConvConfig::default()), &[2]),
        "model.kind"
    );
    assert_eq!(
        err(ModelConfig::ResNet(ResNetConfig::default()), &[2]),
        "model.kind"
    );
    // Three stages halve 6×6 twice.
    assert_eq!(
        err(ModelConfig::ResNet(ResNetConfig::default()), &[3, 6, 6]),
        "model.channels"
    );
    let blocks = ResNetConfig {
        blocks: vec![1],
        ..ResNetConfig::default()
    };
    assert_eq!(err(ModelConfig::ResNet(blocks), &[3, 8, 8]), "model.blocks");
    let mut zero = ConvConfig::default();
    zero.layers[1].stride = 0;
    assert_eq!(
        err(ModelConfig::Conv(zero), &[3, 8, 8]),
        "model.layers[1].stride"
    );
    // The benchmark net's last k4 s2 conv does not fit a 1×1 map.
    assert_eq!(
        err(ModelConfig::Conv(ConvConfig::default()), &[3, 2, 2]),
        "model.layers[2].kernel"
    );
    // An MLP flattens images.
    let mlp = ModelConfig::default()
        .build(&[1, 4, 4], &mut r, &dev)
        .unwrap();
    assert_eq!(mlp.input_shape(), vec![16]);
    // Unknown keys, at the top and inside a layer, are errors.
    assert!(toml::from_str::<ModelConfig>("kind = \"conv\"\nchanels = [1]").is_err());
    let typo = "kind = \"conv\"\nlayers = [{ channels = 4, kernel = 3, strid = 2 }]";
    assert!(toml::from_str::<ModelConfig>(typo).is_err());
    let resnet = "kind = \"resnet\"\nchannels = [32, 64]\nblocks = [1, 1]\npool = \"mean\"";
    let parsed: ModelConfig = toml::from_str(resnet).unwrap();
    assert!(matches!(parsed, ModelConfig::ResNet(c) if c.pool == Pool::Mean && !c.spectral_norm));
}
