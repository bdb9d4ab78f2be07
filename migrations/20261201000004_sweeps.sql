-- Sweeps: reads besides the incremental ones, for what a time filter cannot see.
ALTER TABLE feishu.sync_runs ADD COLUMN sweep text
    CHECK (sweep IN ('reconcile', 'open_tasks'));
COMMENT ON COLUMN feishu.sync_runs.sweep IS
    'NULL for an incremental run or a backfill; reconcile = every partition read whole (retires, refreshes, moves no watermark back); open_tasks = every open task v1 task re-read';
