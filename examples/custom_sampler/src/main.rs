mod random_walk;

fn main() -> std::process::ExitCode {
    ebm_launch::run()
}
