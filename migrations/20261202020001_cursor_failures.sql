-- Runs in a row that failed while a partition's pass had a resume cursor: after three,
-- the cursor is dropped and the partition is read again from its first page, so a page
-- token that can never succeed cannot wedge the partition.
ALTER TABLE feishu.sync_state ADD COLUMN resume_failures integer NOT NULL DEFAULT 0;

COMMENT ON COLUMN feishu.sync_state.resume_failures IS
    'Runs in a row that failed while this pass had a resume cursor (reset by every committed page); at 3 the cursor is dropped and the partition is read again from its first page';
