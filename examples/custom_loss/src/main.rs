fn main() -> std::process::ExitCode {
    custom_loss::link();
    ebm_launch::run()
}
