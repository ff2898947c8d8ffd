//! The `palisade` command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use palisade_server::config::{self, Overrides};
use tracing::{error, info};

/// The allocator of the server binary. Imports and searches allocate many small values (JSON
/// trees, terms, postings), and glibc's malloc took about a fifth of the samples of a bulk import.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "palisade",
    version,
    about = "A Kuzzle-compatible backend: API over HTTP and WebSocket, document database, realtime engine",
    after_help = "Settings are read from defaults, then the TOML file given with --config, then \
                  PALISADE_* environment variables (PALISADE_PORT, PALISADE_LIMITS__CONCURRENT_REQUESTS, \
                  ...), then flags; each layer overrides the one before. `palisade config` prints \
                  the result. PALISADE_LOG sets the log filter (default: info) and \
                  PALISADE_LOG_FORMAT=json switches logs to JSON lines."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the server.
    Serve(Settings),
    /// Print the effective configuration as TOML, with every default filled in.
    Config(Settings),
}

#[derive(Debug, clap::Args)]
struct Settings {
    /// TOML configuration file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on (default: 127.0.0.1).
    #[arg(long, value_name = "HOST")]
    host: Option<String>,
    /// TCP port for HTTP and WebSocket; 0 picks a free port (default: 7512).
    #[arg(long, value_name = "PORT")]
    port: Option<u16>,
    /// Folder of the embedded database (default: ./data).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Folder watched for WebAssembly plugins (default: ./plugins).
    #[arg(long, value_name = "DIR")]
    plugins_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (Command::Serve(settings) | Command::Config(settings)) = &cli.command;

    let overrides = Overrides {
        host: settings.host.clone(),
        port: settings.port,
        data_dir: settings.data_dir.clone(),
        plugins_dir: settings.plugins_dir.clone(),
    };
    let loaded = config::load(settings.config.as_deref(), std::env::vars(), overrides);
    let config = match loaded {
        Ok(config) => config,
        Err(error) => {
            #[allow(
                clippy::print_stderr,
                reason = "logging is not set up before the configuration"
            )]
            {
                eprintln!("palisade: {error}");
            }
            return ExitCode::from(2);
        }
    };

    match cli.command {
        Command::Config(_) => print_config(&config),
        Command::Serve(_) => serve(config),
    }
}

fn print_config(config: &palisade_server::Config) -> ExitCode {
    match toml::to_string_pretty(config) {
        Ok(text) => {
            #[allow(
                clippy::print_stdout,
                reason = "printing the configuration is the command's output"
            )]
            {
                print!("{text}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            #[allow(clippy::print_stderr, reason = "a command-line error message")]
            {
                eprintln!("palisade: cannot print the configuration: {error}");
            }
            ExitCode::FAILURE
        }
    }
}

fn serve(config: palisade_server::Config) -> ExitCode {
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            error!(%error, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };

    runtime.block_on(async {
        // Listen for signals before the server announces its address, so a SIGTERM sent right
        // after the announcement stops the server gracefully instead of killing it.
        let signal = Signals::listen();
        let server = match palisade_server::start(config).await {
            Ok(server) => server,
            Err(error) => {
                error!(%error, "cannot start the server");
                return ExitCode::FAILURE;
            }
        };
        tokio::select! {
            () = signal.wait() => {}
            () = server.state.shutdown_requested.notified() => {
                info!("admin:shutdown requested");
            }
        }
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PALISADE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    if std::env::var("PALISADE_LOG_FORMAT").is_ok_and(|format| format == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// The shutdown signals: SIGINT (Ctrl-C) and, on Unix, SIGTERM.
struct Signals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Registers the SIGTERM handler now; SIGINT is caught from the first poll of `wait`.
    fn listen() -> Self {
        #[cfg(unix)]
        {
            let kind = tokio::signal::unix::SignalKind::terminate();
            let terminate = match tokio::signal::unix::signal(kind) {
                Ok(terminate) => Some(terminate),
                Err(error) => {
                    error!(%error, "cannot listen for SIGTERM");
                    None
                }
            };
            Self { terminate }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Waits for SIGINT or SIGTERM.
    async fn wait(self) {
        let interrupt = tokio::signal::ctrl_c();
        #[cfg(unix)]
        if let Some(mut terminate) = self.terminate {
            tokio::select! {
                _ = interrupt => {}
                _ = terminate.recv() => {}
            }
            return;
        }
        let _ = interrupt.await;
    }
}
