//! `feishu-sync config schema`: the JSON Schema of `sync.toml`, derived from the
//! configuration types (schemars), not written by hand. Editors (Taplo, VS Code's Even
//! Better TOML, IntelliJ) use it to validate and complete the file.

use std::process::ExitCode;

use crate::config::Config;

/// The schema as a JSON value: every section and key, its type, its default and its
/// documentation, with unknown keys refused as `feishu-sync` refuses them.
pub fn schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(Config).to_value();
    if let Some(object) = schema.as_object_mut() {
        object.insert(
            "title".into(),
            "feishu-sync configuration (sync.toml)".into(),
        );
    }
    schema
}

/// Prints the schema.
pub fn execute() -> anyhow::Result<ExitCode> {
    crate::outln!("{}", serde_json::to_string_pretty(&schema())?);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key the defaults have is in the schema, section by section, and the
    /// repository's sync.toml would be accepted key by key.
    #[test]
    fn the_schema_has_every_key_of_the_configuration() {
        let schema = schema();
        let defaults = serde_json::to_value(Config::default()).unwrap();
        let properties = &schema["properties"];
        for (section, keys) in defaults.as_object().unwrap() {
            let reference = properties[section]["$ref"]
                .as_str()
                .unwrap_or_else(|| panic!("section {section} in {properties}"));
            let name = reference.trim_start_matches("#/$defs/");
            let definition = &schema["$defs"][name];
            assert_eq!(definition["additionalProperties"], false, "{section}");
            for key in keys.as_object().unwrap().keys() {
                assert!(
                    definition["properties"].get(key).is_some(),
                    "{section}.{key} missing from the schema"
                );
            }
        }
        let secret = &schema["$defs"]["FeishuConfig"]["properties"]["app_secret"];
        assert_eq!(secret["type"], "string", "{secret}");
        let user_id_type = &schema["$defs"]["FeishuConfig"]["properties"]["user_id_type"];
        assert_eq!(
            user_id_type["type"], "string",
            "as it read before the enum: {user_id_type}"
        );
        assert_eq!(user_id_type["default"], "open_id", "{user_id_type}");
    }
}
