//! Where the headline settings came from, for the one start-up line of `sync` and `run`:
//! the config file used (or none), the database (password masked) and the Feishu base
//! URL, each with its source (env, file or default). A `DATABASE_URL` that overrides the
//! file's `database.url` says so.

use std::collections::BTreeMap;
use std::path::Path;

use super::types::{Config, ENV_PREFIX};

/// Where one setting's value came from.
fn origin(path: &Path, key: &str, env_names: &[String], env: &BTreeMap<String, String>) -> String {
    let in_file = file_has(path, key);
    match env_names.iter().find(|name| env.contains_key(*name)) {
        Some(name) if in_file => format!("env {name}, over the file's {key}"),
        Some(name) => format!("env {name}"),
        None if in_file => "file".to_string(),
        None => "default".to_string(),
    }
}

/// Whether the file at `path` sets `key`.
fn file_has(path: &Path, key: &str) -> bool {
    path.is_file()
        && config::Config::builder()
            .add_source(config::File::from(path))
            .build()
            .is_ok_and(|file| file.get::<config::Value>(key).is_ok())
}

fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}__{}", key.to_uppercase().replace('.', "__"))
}

impl Config {
    /// `feishu-sync 0.1.0; config ./sync.toml; database postgres://u:***@h/db (env
    /// DATABASE_URL, over the file's database.url); Feishu https://open.feishu.cn (default)`.
    pub fn startup_line(&self, path: &Path, env: &BTreeMap<String, String>) -> String {
        let file = match path.is_file() {
            true => path.display().to_string(),
            false => "none".to_string(),
        };
        let database = origin(
            path,
            "database.url",
            &[env_name("database.url"), "DATABASE_URL".to_string()],
            env,
        );
        let base_url = origin(path, "feishu.base_url", &[env_name("feishu.base_url")], env);
        format!(
            "feishu-sync {}; config file {file}; database {} ({database}); Feishu {} ({base_url})",
            env!("CARGO_PKG_VERSION"),
            self.database.redacted_url(),
            self.feishu.base_url
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_source_and_masks_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sync.toml");
        std::fs::write(&path, "[database]\nurl = \"postgres://file@db/f\"\n").unwrap();
        let env: BTreeMap<String, String> = [(
            "DATABASE_URL".to_string(),
            "postgres://u:hunter2@host/env".to_string(),
        )]
        .into();
        let mut config = Config::default();
        config.database.url = "postgres://u:hunter2@host/env".to_string().into();
        let line = config.startup_line(&path, &env);
        assert!(
            line.contains(&format!("config file {};", path.display())),
            "{line}"
        );
        assert!(
            line.contains("(env DATABASE_URL, over the file's database.url)"),
            "{line}"
        );
        assert!(line.contains("https://open.feishu.cn (default)"), "{line}");
        assert!(!line.contains("hunter2"), "{line}");

        let absent = dir.path().join("absent.toml");
        let line = config.startup_line(&absent, &BTreeMap::new());
        assert!(line.contains("config file none;"), "{line}");
        assert!(line.contains("@host/env (default)"), "{line}");
    }
}
