fn main() -> std::process::ExitCode {
    custom_sampler::link();
    ebm_launch::run()
}
