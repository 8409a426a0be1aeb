//! pause, unpause, stats, update, oom, events (being written).

/// Arguments of `nsinit update`.
#[derive(clap::Args, Debug)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub id: crate::commands::IdArgs,
}

/// Arguments of `nsinit events`.
#[derive(clap::Args, Debug)]
pub struct EventsArgs {
    #[command(flatten)]
    pub id: crate::commands::IdArgs,
}

pub fn pause(_cli: &crate::Cli, _a: &crate::commands::IdArgs) -> Result<i32, String> {
    Err("not yet available".into())
}
pub fn unpause(_cli: &crate::Cli, _a: &crate::commands::IdArgs) -> Result<i32, String> {
    Err("not yet available".into())
}
pub fn stats(_cli: &crate::Cli, _a: &crate::commands::IdArgs) -> Result<i32, String> {
    Err("not yet available".into())
}
pub fn oom(_cli: &crate::Cli, _a: &crate::commands::IdArgs) -> Result<i32, String> {
    Err("not yet available".into())
}
pub fn update(_cli: &crate::Cli, _a: &UpdateArgs) -> Result<i32, String> {
    Err("not yet available".into())
}
pub fn events(_cli: &crate::Cli, _a: &EventsArgs) -> Result<i32, String> {
    Err("not yet available".into())
}
