-- Settings the stored data depends on. Today: feishu.user_id_type, since every user
-- column holds ids of that kind; switching kinds without resetting would mix them.
CREATE TABLE feishu.sync_settings (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE feishu.sync_settings IS
    'Settings the stored data was written under (user_id_type: which kind of id every user column holds). Key: key';
COMMENT ON COLUMN feishu.sync_settings.key IS 'The setting, e.g. user_id_type';
COMMENT ON COLUMN feishu.sync_settings.value IS 'Its value when the data was written, e.g. open_id';
COMMENT ON COLUMN feishu.sync_settings.updated_at IS 'When it was recorded';
