//! checkpoint and restore (being written).

/// Arguments of `nsinit checkpoint`.
#[derive(clap::Args, Debug)]
pub struct CheckpointArgs {
    #[command(flatten)]
    pub id: crate::commands::IdArgs,
}

/// Arguments of `nsinit restore`.
#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub id: crate::commands::IdArgs,
}

pub fn checkpoint(_cli: &crate::Cli, _a: &CheckpointArgs) -> Result<i32, String> {
    Err("not yet available".into())
}
pub fn restore(_cli: &crate::Cli, _a: &RestoreArgs) -> Result<i32, String> {
    Err("not yet available".into())
}
