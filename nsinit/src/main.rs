//! `nsinit`: the command line of the nsinit container runtime.

mod checkpoint_cmd;
mod commands;
mod config_cmd;
mod exec;
mod logging;
mod ops_cmd;
mod signals;
mod tty;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// nsinit: run, join, inspect and manage containers.
#[derive(Parser, Debug)]
#[command(name = "nsinit", version, about, propagate_version = true)]
pub struct Cli {
    /// Directory holding container state.
    #[arg(long, global = true, default_value = nsinit_runtime::factory::DEFAULT_ROOT, env = "NSINIT_ROOT")]
    pub root: PathBuf,
    /// Append log lines (errors, and with --debug the steps) to this file.
    #[arg(long, global = true, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Log every step.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Path of the criu binary.
    #[arg(long, global = true, value_name = "PATH", env = "NSINIT_CRIU")]
    pub criu: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print a complete default config (with overrides), or validate one.
    Config(Box<config_cmd::ConfigArgs>),
    /// Run a command in a new container, or join the running container with that id.
    Exec(exec::ExecArgs),
    /// Internal: the init inside a container.
    #[command(hide = true)]
    Init,
    /// Create a container whose init waits for `start`.
    Create(commands::CreateArgs),
    /// Let a created container run its program.
    Start(commands::IdArgs),
    /// Print a container's state.json.
    State(commands::IdArgs),
    /// List containers.
    List(commands::ListArgs),
    /// Send a signal to a container's init (or every process with --all).
    Kill(commands::KillArgs),
    /// Destroy a container and everything it holds.
    Delete(commands::DeleteArgs),
    /// List the processes of a container.
    Ps(commands::IdArgs),
    /// Freeze every process of a container.
    Pause(commands::IdArgs),
    /// Thaw a paused container.
    Unpause(commands::IdArgs),
    /// Print a container's cgroup and network statistics (JSON).
    Stats(commands::IdArgs),
    /// Change the resources of a running container.
    Update(ops_cmd::UpdateArgs),
    /// Print an event each time the container hits its memory limit.
    Oom(commands::IdArgs),
    /// Stream statistics and OOM events as JSON lines.
    Events(ops_cmd::EventsArgs),
    /// Save a running container to disk (CRIU).
    Checkpoint(checkpoint_cmd::CheckpointArgs),
    /// Bring a checkpointed container back (CRIU).
    Restore(checkpoint_cmd::RestoreArgs),
}

fn main() {
    // The init is this binary executed again; it must not parse arguments or
    // touch anything before taking over.
    if nsinit_runtime::init::is_init_process() {
        nsinit_runtime::init::start_initialization();
    }
    let cli = Cli::parse();
    logging::init(cli.log_file.as_deref(), cli.debug);
    let code = match run(&cli) {
        Ok(code) => code,
        Err(msg) => {
            logging::error(&msg);
            eprintln!("nsinit: {msg}");
            1
        }
    };
    std::process::exit(code);
}

fn run(cli: &Cli) -> Result<i32, String> {
    match &cli.command {
        Command::Config(a) => config_cmd::run(a),
        Command::Exec(a) => exec::run(cli, a),
        Command::Init => {
            eprintln!("nsinit init: only the runtime starts this command");
            Ok(1)
        }
        Command::Create(a) => commands::create(cli, a),
        Command::Start(a) => commands::start(cli, a),
        Command::State(a) => commands::state(cli, a),
        Command::List(a) => commands::list(cli, a),
        Command::Kill(a) => commands::kill(cli, a),
        Command::Delete(a) => commands::delete(cli, a),
        Command::Ps(a) => commands::ps(cli, a),
        Command::Pause(a) => ops_cmd::pause(cli, a),
        Command::Unpause(a) => ops_cmd::unpause(cli, a),
        Command::Stats(a) => ops_cmd::stats(cli, a),
        Command::Update(a) => ops_cmd::update(cli, a),
        Command::Oom(a) => ops_cmd::oom(cli, a),
        Command::Events(a) => ops_cmd::events(cli, a),
        Command::Checkpoint(a) => checkpoint_cmd::checkpoint(cli, a),
        Command::Restore(a) => checkpoint_cmd::restore(cli, a),
    }
}
