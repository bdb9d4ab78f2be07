//! `feishu-sync reset --stream NAME --yes`: forgets one stream's watermarks, resume
//! cursors and pass state, so its next run is a first sync. Its rows are kept (the next
//! run rewrites what changed and retires what is gone). Like `dlt pipeline drop` or
//! `meltano state clear`.

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::ResetArgs;
use crate::config::Config;
use crate::startup::migrated_pool;
use crate::stream_lock::{self, StreamLock};
use crate::sync_state;

/// Without `--yes` it says what it would clear and exits 2; with it, clears under the
/// stream's lock (refusing while the service or a `sync` writes the stream).
pub async fn execute(config: &Config, args: &ResetArgs) -> anyhow::Result<ExitCode> {
    let stream = args.stream.0;
    let pool = migrated_pool(&config.database).await?;
    let partitions = sync_state::count_partitions(&pool, stream).await?;
    if !args.yes {
        crate::outln!(
            "reset would clear the state of {partitions} partition(s) of {stream} (watermarks, resume \
             cursors), so its next run reads everything again; its rows are kept. Add --yes to do it."
        );
        return Ok(ExitCode::from(2));
    }
    let locks = stream_lock::lock_pool(&pool);
    let Some(lock) = StreamLock::try_acquire(&locks, stream).await? else {
        anyhow::bail!(
            "{stream} is being written (by the service or a sync): its state was not reset; try again when the run has finished"
        );
    };
    let cleared = sync_state::reset_stream(&pool, stream).await;
    lock.release().await?;
    let cleared = cleared.with_context(|| format!("resetting {stream}"))?;
    crate::outln!(
        "cleared the state of {cleared} partition(s) of {stream}: its next run is a first sync; its rows are kept"
    );
    Ok(ExitCode::SUCCESS)
}
