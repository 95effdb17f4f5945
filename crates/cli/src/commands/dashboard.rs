//! `pressbot dashboard`: the dashboard role alone.

use crate::app::Loaded;

pub async fn run(loaded: Loaded) -> crate::Result<u8> {
    crate::dashboard::role(loaded, pressbot_daemons::shutdown::install()).await?;
    Ok(0)
}
