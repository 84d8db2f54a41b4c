//! The `exlic` binary: parses the command line and runs it (see `exlic_node::cli`).

use clap::Parser;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("EXLIC_LOG")
                // openraft's own info and warnings (each heartbeat to a replica that is
                // down, each stale vote answer) would drown the node's; the replica logs
                // its leader, term and membership changes itself (`cluster::p2p`).
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = exlic_node::cli::Cli::parse();
    match exlic_node::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
