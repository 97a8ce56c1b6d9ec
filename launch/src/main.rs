fn main() -> std::process::ExitCode {
    ebm_launch::run()
}
