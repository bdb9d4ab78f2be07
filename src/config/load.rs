//! Loading: built-in defaults, then the TOML file, then `FEISHU_SYNC__SECTION__KEY`
//! environment variables (and `DATABASE_URL`); unknown keys and unreadable values are
//! problems like any other.

use secrecy::SecretString;
use std::collections::BTreeMap;
use std::path::Path;

use super::types::*;
use super::validate::ConfigError;
use crate::feishu::UserIdType;
use crate::feishu::user_id_type::UnknownUserIdType;

impl Config {
    /// Loads defaults, then the file at `path` (required only if `required`), then the
    /// environment, and validates the result.
    pub fn load(path: &Path, required: bool) -> Result<Config, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        Config::load_from(path, required, &env)
    }

    /// Like [`Config::load`] with an explicit environment, so tests need not touch the
    /// process environment.
    pub fn load_from(
        path: &Path,
        required: bool,
        env: &BTreeMap<String, String>,
    ) -> Result<Config, ConfigError> {
        let (config, problems) = Config::load_with_problems(path, required, env)?;
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError { problems })
        }
    }

    /// `server.listen` as configured, even when the configuration has other problems (the
    /// default when it cannot be read at all), so `run` can report them on its probes.
    pub fn listen_address_despite_errors(path: &Path, required: bool) -> String {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        match Config::load_with_problems(path, required, &env) {
            Ok((config, _)) => config.server.listen,
            Err(_) => env
                .get(&format!("{ENV_PREFIX}__SERVER__LISTEN"))
                .cloned()
                .unwrap_or_else(|| ServerConfig::default().listen),
        }
    }

    /// For commands that only read the database (`status`, `healthcheck`): missing Feishu
    /// credentials and approval users do not matter there; every other problem does.
    pub fn load_for_database(path: &Path, required: bool) -> Result<Config, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let (config, problems) = Config::load_with_problems(path, required, &env)?;
        let problems: Vec<String> = problems
            .into_iter()
            .filter(|p| {
                !p.starts_with("feishu.app_") && !p.starts_with("streams.approval_tasks.user_ids")
            })
            .collect();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError { problems })
        }
    }

    /// For `healthcheck`, which only talks to `server.listen`: only problems of the
    /// `server` section (and unknown keys) matter.
    pub fn load_for_probe(path: &Path, required: bool) -> Result<Config, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let (config, problems) = Config::load_with_problems(path, required, &env)?;
        let problems: Vec<String> = problems
            .into_iter()
            .filter(|p| p.starts_with("server.") || p.starts_with("unknown key"))
            .collect();
        match problems.is_empty() {
            true => Ok(config),
            false => Err(ConfigError { problems }),
        }
    }

    /// The layered configuration and its validation problems; unknown keys and values
    /// that cannot be read at all are errors straight away.
    pub(super) fn load_with_problems(
        path: &Path,
        required: bool,
        env: &BTreeMap<String, String>,
    ) -> Result<(Config, Vec<String>), ConfigError> {
        if required && !path.exists() {
            return Err(ConfigError::one(format!(
                "config file {} not found: create it (see sync.toml in the repository) or pass --config",
                path.display()
            )));
        }
        if path.is_dir() {
            return Err(ConfigError::one(format!(
                "config path {} is a directory: pass the file itself, e.g. --config {}",
                path.display(),
                path.join("sync.toml").display()
            )));
        }
        let (layered, unknown_user_id_type) = replace_unknown_words(layered_source(path, env)?)?;
        let (mut config, unreadable, mut problems) = read_sections(&layered);
        problems.extend(unreadable.iter().map(|(_, e)| e.clone()));
        config.apply_database_url_fallback(env);
        // A section that could not be read is checked no further: its defaults would only
        // produce misleading complaints.
        let unreadable: Vec<&str> = unreadable.iter().map(|(section, _)| *section).collect();
        let checked = config.problems(unknown_user_id_type.as_ref());
        problems.extend(checked.into_iter().filter(|p| {
            !unreadable
                .iter()
                .any(|section| p.starts_with(&format!("{section}.")))
        }));
        Ok((config, problems))
    }

    /// `DATABASE_URL` fills `database.url` unless `FEISHU_SYNC__DATABASE__URL` was given.
    fn apply_database_url_fallback(&mut self, env: &BTreeMap<String, String>) {
        let explicit = env.contains_key(&format!("{ENV_PREFIX}__DATABASE__URL"));
        if let (false, Some(url)) = (explicit, env.get("DATABASE_URL")) {
            self.database.url = SecretString::from(url.clone());
        }
    }
}

/// The configuration's top-level sections.
const SECTIONS: [&str; 6] = [
    "feishu", "database", "streams", "server", "history", "events",
];

/// Reads each top-level section on its own, so a wrongly typed value in one section does
/// not hide the problems of the others. Returns the config (defaults for unreadable
/// sections), `(section, message)` for each section that could not be read, and every
/// key the configuration does not have (serde_ignored reports what serde skipped).
fn read_sections(layered: &config::Config) -> (Config, Vec<(&'static str, String)>, Vec<String>) {
    let mut unknown: Vec<String> = layered
        .clone()
        .try_deserialize::<config::Map<String, config::Value>>()
        .map(|top| {
            top.into_keys()
                .filter(|k| !SECTIONS.contains(&k.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let mut errors = Vec::new();
    let (e, u) = (&mut errors, &mut unknown);
    let config = Config {
        feishu: read_section(layered, "feishu", e, u),
        database: read_section(layered, "database", e, u),
        streams: read_section(layered, "streams", e, u),
        server: read_section(layered, "server", e, u),
        history: read_section(layered, "history", e, u),
        events: read_section(layered, "events", e, u),
    };
    let unknown = unknown
        .into_iter()
        .map(|key| format!("unknown key `{key}` (check the spelling against sync.toml)"))
        .collect();
    // The crate names only the section; name every offending key instead.
    let known = serde_json::to_value(Config::default()).expect("defaults serialize");
    let given: serde_json::Value = layered.clone().try_deserialize().unwrap_or_default();
    let errors = errors
        .into_iter()
        .flat_map(|(name, message)| {
            let mut precise = Vec::new();
            leaf_type_errors(layered, name, &given[name], &known[name], &mut precise);
            if precise.is_empty() {
                precise.push(message);
            }
            precise.into_iter().map(move |m| (name, m))
        })
        .collect();
    (config, errors, unknown)
}

/// One section as `T` (its default when absent or unreadable), recording the keys `T`
/// does not have in `unknown`.
fn read_section<T: serde::de::DeserializeOwned + Default>(
    layered: &config::Config,
    name: &'static str,
    errors: &mut Vec<(&'static str, String)>,
    unknown: &mut Vec<String>,
) -> T {
    let read = layered.get::<config::Value>(name).and_then(|value| {
        serde_ignored::deserialize(value, |path| unknown.push(format!("{name}.{path}")))
    });
    match read {
        Ok(section) => section,
        Err(config::ConfigError::NotFound(_)) => T::default(),
        Err(e) => {
            errors.push((name, e.to_string()));
            T::default()
        }
    }
}

/// Finds the keys whose value must be one of a few words (`feishu.user_id_type`) and holds
/// another, and puts the default in its place: the word is then one problem like any
/// other (validation lists it in its place), instead of making its whole section
/// unreadable and hiding the section's other problems. A value that is no text at all is
/// left to the section's reader.
fn replace_unknown_words(
    layered: config::Config,
) -> Result<(config::Config, Option<UnknownUserIdType>), ConfigError> {
    const KEY: &str = "feishu.user_id_type";
    let Ok(text) = layered.get::<String>(KEY) else {
        return Ok((layered, None));
    };
    let Err(unknown) = text.parse::<UserIdType>() else {
        return Ok((layered, None));
    };
    let replaced = config::Config::builder()
        .add_source(layered)
        .set_override(KEY, UserIdType::default().as_str())
        .and_then(|builder| builder.build())
        .map_err(|e| ConfigError::one(format!("cannot read configuration: {e}")))?;
    Ok((replaced, Some(unknown)))
}

/// Checks each given leaf under `path` against the type of its default.
fn leaf_type_errors(
    layered: &config::Config,
    path: &str,
    given: &serde_json::Value,
    known: &serde_json::Value,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    let result = match (given, known) {
        (Value::Object(given), Value::Object(known)) => {
            for (key, value) in given {
                if let Some(default) = known.get(key) {
                    leaf_type_errors(layered, &format!("{path}.{key}"), value, default, out);
                }
            }
            return;
        }
        (_, Value::Number(_)) => layered.get::<u64>(path).map(drop),
        (_, Value::Bool(_)) => layered.get::<bool>(path).map(drop),
        (_, Value::Array(_)) => layered.get::<Vec<String>>(path).map(drop),
        (_, _) => layered.get::<String>(path).map(drop),
    };
    if let Err(e) = result {
        out.push(e.to_string());
    }
}

/// Keys whose environment variable holds a comma-separated list.
const LIST_KEYS: [&str; 3] = [
    "streams.approval_tasks.user_ids",
    "streams.approval_tasks.topics",
    "events.approval_codes",
];

/// The file and environment layered by the `config` crate; defaults come from serde.
/// Values stay strings (no guessing that `007` is a number); the crate converts them to
/// each field's type, and list variables are split on commas here.
fn layered_source(
    path: &Path,
    env: &BTreeMap<String, String>,
) -> Result<config::Config, ConfigError> {
    let env_key = |key: &str| format!("{ENV_PREFIX}__{}", key.to_uppercase().replace('.', "__"));
    let scalars: config::Map<String, String> = env
        .iter()
        .filter(|(k, _)| k.starts_with(&format!("{ENV_PREFIX}__")))
        .filter(|(k, _)| !LIST_KEYS.iter().any(|list| env_key(list) == **k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut builder = config::Config::builder()
        .add_source(config::File::from(path).required(false))
        .add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("__")
                .separator("__")
                .source(Some(scalars)),
        );
    for key in LIST_KEYS {
        if let Some(value) = env.get(&env_key(key)) {
            let items: Vec<String> = value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_string)
                .collect();
            builder = builder
                .set_override(key, items)
                .map_err(|e| ConfigError::one(e.to_string()))?;
        }
    }
    builder
        .build()
        .map_err(|e| ConfigError::one(describe_build_error(path, &e)))
}

/// The layering error in words that never quote the file: a TOML syntax error names the
/// file, the line and the key on it, not the line itself, which may hold a password
/// (`database.url = "postgres://u:PW@…`) and would reach the log and the probes.
fn describe_build_error(path: &Path, error: &config::ConfigError) -> String {
    let config::ConfigError::FileParse { cause, .. } = error else {
        return format!("cannot read configuration: {error}");
    };
    let file = path.display();
    let Some(toml) = cause.downcast_ref::<toml::de::Error>() else {
        return format!("cannot read configuration: {file} is not valid TOML");
    };
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let Some(start) = toml.span().map(|s| s.start.min(text.len())) else {
        return format!("cannot read configuration: {file} is not valid TOML");
    };
    let line_number = text[..start].matches('\n').count() + 1;
    let line = text.lines().nth(line_number - 1).unwrap_or_default();
    let key = line.split_once('=').map(|(key, _)| key.trim()).filter(|k| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    });
    let what = toml.message().lines().next().unwrap_or("syntax error");
    match key {
        Some(key) => format!(
            "cannot read configuration: {file} line {line_number} (key `{key}`) is not valid TOML: {what}"
        ),
        None => format!(
            "cannot read configuration: {file} line {line_number} is not valid TOML: {what}"
        ),
    }
}
