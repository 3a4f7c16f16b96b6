//! Builds the library's [`Config`] from, in order: defaults, a TOML file, `COGMAN_<FIELD>`
//! environment variables, and command-line flags. The library itself reads none of these.

use std::path::Path;

use anyhow::{Context, Result, bail};
use cogman::Config;

use crate::cli::ConfigArgs;

/// Fields that are unset by default, so they do not appear in a serialized default config.
const OPTIONAL_FIELDS: [&str; 3] = ["amqp_uri", "redis_uri", "postgres_uri"];

/// The effective configuration, validated.
pub(crate) fn load(args: &ConfigArgs) -> Result<Config> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let mut config = layered(args.config.as_deref(), &env)?;
    if let Some(db) = &args.db {
        config.db.clone_from(db);
    }
    for (flag, field) in [
        (&args.amqp, &mut config.amqp_uri),
        (&args.redis, &mut config.redis_uri),
    ] {
        if flag.is_some() {
            field.clone_from(flag);
        }
    }
    if args.postgres.is_some() {
        config.postgres_uri.clone_from(&args.postgres);
    }
    config.validate()?;
    Ok(config)
}

/// Defaults, then the file, then the environment.
fn layered(file: Option<&Path>, env: &[(String, String)]) -> Result<Config> {
    let mut table =
        toml::Table::try_from(Config::default()).context("serializing the default config")?;
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        let from_file: toml::Table = text
            .parse()
            .with_context(|| format!("parsing config file {} as TOML", path.display()))?;
        table.extend(from_file);
    }
    let known: Vec<String> = table
        .keys()
        .cloned()
        .chain(OPTIONAL_FIELDS.iter().map(|f| (*f).to_owned()))
        .collect();
    for (key, value) in env {
        let Some(field) = key.strip_prefix("COGMAN_") else {
            continue;
        };
        let field = field.to_ascii_lowercase();
        if matches!(
            field.as_str(),
            "config" | "log" | "api_tokens" | "server" | "api_token"
        ) {
            continue;
        }
        if !known.contains(&field) {
            bail!(
                "unknown environment variable {key}: no config field {field:?} (see docs/configuration.md)"
            );
        }
        table.insert(field, env_value(value));
    }
    let config: Config = table
        .try_into()
        .map_err(|e: toml::de::Error| anyhow::anyhow!("invalid config: {}", e.message()))?;
    Ok(config)
}

/// An environment value as TOML: whole numbers stay numbers, anything else is a string.
fn env_value(value: &str) -> toml::Value {
    value.parse::<i64>().map_or_else(
        |_| toml::Value::String(value.to_owned()),
        toml::Value::Integer,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn file_then_env_override_defaults() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("cogman.toml");
        std::fs::write(
            &file,
            "request_timeout = \"7s\"\nhigh_priority_queue_count = 2\ndb = \"x.db\"\n",
        )
        .expect("write config");
        let config = layered(
            Some(&file),
            &env(&[
                ("COGMAN_HIGH_PRIORITY_QUEUE_COUNT", "3"),
                ("COGMAN_AMQP_URI", "amqp://h"),
                ("PATH", "/bin"),
            ]),
        )
        .expect("valid layers");
        assert_eq!(config.request_timeout, Duration::from_secs(7));
        assert_eq!(config.high_priority_queue_count, 3);
        assert_eq!(config.amqp_uri.as_deref(), Some("amqp://h"));
        assert_eq!(config.db, std::path::PathBuf::from("x.db"));
    }

    #[test]
    fn bad_input_is_refused_clearly() {
        let unknown =
            layered(None, &env(&[("COGMAN_AMQP", "amqp://h")])).expect_err("unknown variable");
        assert!(unknown.to_string().contains("COGMAN_AMQP"), "{unknown}");
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "no_such_field = 1\n").expect("write");
        let typo = layered(Some(&file), &[]).expect_err("unknown field");
        assert!(typo.to_string().contains("no_such_field"), "{typo}");
        let bad =
            layered(None, &env(&[("COGMAN_REQUEST_TIMEOUT", "soon")])).expect_err("bad duration");
        assert!(bad.to_string().contains("invalid config"), "{bad}");
    }
}
