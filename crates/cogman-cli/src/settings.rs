//! Builds the library's [`Config`] from, in order: defaults, a TOML file, `COGMAN_*`
//! environment variables, and command-line flags. The library itself reads none of these.
//!
//! Nothing here lists the settings: a field of [`Config`] (or of one of its sections) is a key
//! of the file and a variable at once — `concurrency` is `COGMAN_CONCURRENCY`, `[amqp] uri` is
//! `COGMAN_AMQP_URI` — so a setting is added in its section alone. Every value remembers where
//! it came from, so an error names the field and its source.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use cogman::Config;
use toml::{Table, Value};

use crate::cli::ConfigArgs;
use crate::commands::HANDLER_VARIABLES;

/// `COGMAN_*` variables that are not config fields (without the prefix), read elsewhere by the
/// binary. The variables a worker sets for its handler processes, which may run `cogman`
/// themselves, are not config either ([`HANDLER_VARIABLES`]).
const NOT_CONFIG: [&str; 6] = [
    "CONFIG",
    "LOG",
    "SERVER",
    "API_TOKEN",
    "API_TOKENS",
    "BENCH_KEEP_KEYS",
];

/// True for a `COGMAN_*` variable (without the prefix) that is no config field.
fn is_not_config(name: &str) -> bool {
    NOT_CONFIG.contains(&name) || HANDLER_VARIABLES.contains(&name)
}

/// The effective configuration, validated.
pub(crate) fn load(args: &ConfigArgs) -> Result<Config> {
    let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    // `--config`, else `COGMAN_CONFIG`; empty means none.
    let file = args
        .config
        .clone()
        .or_else(|| std::env::var_os("COGMAN_CONFIG").map(PathBuf::from))
        .filter(|path| !path.as_os_str().is_empty());
    let mut layers = Layers::defaults()?;
    if let Some(path) = &file {
        layers.file(path)?;
    }
    layers.env(&env)?;
    let db = args.db.as_deref().map(path_text).transpose()?;
    for (flag, path, value) in [
        ("--db", "sqlite.path", db),
        ("--amqp", "amqp.uri", args.amqp.as_deref()),
        ("--redis", "redis.uri", args.redis.as_deref()),
        ("--postgres", "postgres.uri", args.postgres.as_deref()),
        (
            "--otlp-endpoint",
            "otlp_endpoint",
            args.otlp_endpoint.as_deref(),
        ),
    ] {
        if let Some(value) = value {
            layers.set(path, value, &format!("flag {flag}"))?;
        }
    }
    layers.finish()
}

fn path_text(path: &Path) -> Result<&str> {
    path.to_str()
        .ok_or_else(|| anyhow!("--db {}: not valid UTF-8", path.display()))
}

/// The config as a TOML table, built layer by layer, with the source of every value that is
/// not a default.
struct Layers {
    table: Table,
    defaults: Table,
    /// Dotted field path (`amqp.uri`) → where its value came from.
    origins: HashMap<String, String>,
}

impl Layers {
    fn defaults() -> Result<Layers> {
        let defaults = Table::try_from(Config::default()).context("serializing the defaults")?;
        Ok(Layers {
            table: defaults.clone(),
            defaults,
            origins: HashMap::new(),
        })
    }

    /// Lays the TOML file at `path` over what is there.
    fn file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        // Parsed as a config on its own first, so a bad key or value is reported with its line.
        toml::from_str::<Config>(&text)
            .map_err(|e| anyhow!("invalid config file {}: {e}", path.display()))?;
        let file: Table = text
            .parse()
            .with_context(|| format!("parsing config file {}", path.display()))?;
        let origin = format!("config file {}", path.display());
        merge(&mut self.table, file, "", &origin, &mut self.origins);
        Ok(())
    }

    /// Lays every `COGMAN_*` variable of `env` that is a config field over what is there.
    fn env(&mut self, env: &[(OsString, OsString)]) -> Result<()> {
        let mut vars: Vec<(&str, &OsString)> = env
            .iter()
            .filter_map(|(key, value)| Some((key.to_str()?, value)))
            .filter_map(|(key, value)| Some((key, key.strip_prefix("COGMAN_")?, value)))
            .filter(|(_, name, _)| !is_not_config(name))
            .map(|(key, _, value)| (key, value))
            .collect();
        vars.sort_unstable_by_key(|(key, _)| *key);
        for (key, value) in vars {
            let value = value
                .to_str()
                .ok_or_else(|| anyhow!("environment variable {key}: not valid UTF-8"))?;
            let path = self.env_path(key)?;
            self.set(&path, value, &format!("environment variable {key}"))?;
        }
        Ok(())
    }

    /// The field a `COGMAN_*` variable names: `COGMAN_<SECTION>_<FIELD>` for a field of a
    /// section, else `COGMAN_<FIELD>`.
    fn env_path(&self, key: &str) -> Result<String> {
        let name = key["COGMAN_".len()..].to_ascii_lowercase();
        let is_section = |s: &str| matches!(self.defaults.get(s), Some(Value::Table(_)));
        if is_section(&name) {
            bail!(
                "environment variable {key} names the [{name}] section, not a field: use \
                 COGMAN_{}_<FIELD> (see docs/configuration.md)",
                name.to_ascii_uppercase()
            );
        }
        Ok(match name.split_once('_') {
            Some((section, field)) if is_section(section) => format!("{section}.{field}"),
            _ => name,
        })
    }

    /// Sets the field at the dotted `path` from `text`, typed as its default is (a number
    /// stays a number), after checking it alone, so a bad one is reported with its `origin`.
    fn set(&mut self, path: &str, text: &str, origin: &str) -> Result<()> {
        let value = match lookup(&self.defaults, path) {
            Some(Value::Integer(_)) => text.trim().parse().map(Value::Integer).map_err(|_| {
                anyhow!("invalid config: {path} ({origin}): expected a whole number, got {text:?}")
            })?,
            Some(Value::Boolean(_)) => text.trim().parse().map(Value::Boolean).map_err(|_| {
                anyhow!("invalid config: {path} ({origin}): expected true or false, got {text:?}")
            })?,
            // A list (`queues`) is written comma-separated: `COGMAN_QUEUES=default,images`.
            Some(Value::Array(_)) => Value::Array(
                text.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(|item| Value::String(item.to_owned()))
                    .collect(),
            ),
            _ => Value::String(text.to_owned()),
        };
        let mut alone = Table::new();
        insert(&mut alone, path, value.clone());
        alone
            .try_into::<Config>()
            .map_err(|e| anyhow!("invalid config: {path} ({origin}): {}", e.message()))?;
        insert(&mut self.table, path, value);
        self.origins.insert(path.to_owned(), origin.to_owned());
        Ok(())
    }

    /// The config, validated; an error names the field and where its value came from.
    fn finish(self) -> Result<Config> {
        let config: Config = self
            .table
            .try_into()
            .map_err(|e| anyhow!("invalid config: {}", e.message()))?;
        config.validate().map_err(|e| {
            let origin = self
                .origins
                .get(e.field)
                .map_or("the default", String::as_str);
            anyhow!("invalid config: {} ({origin}): {}", e.field, e.reason)
        })?;
        Ok(config)
    }
}

/// Lays `over` on `base`, table into table, recording `origin` for every value it sets.
fn merge(
    base: &mut Table,
    over: Table,
    prefix: &str,
    origin: &str,
    origins: &mut HashMap<String, String>,
) {
    for (key, value) in over {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (base.get_mut(&key), value) {
            (Some(Value::Table(inner)), Value::Table(value)) => {
                merge(inner, value, &path, origin, origins);
            }
            (_, value) => {
                base.insert(key, value);
                origins.insert(path, origin.to_owned());
            }
        }
    }
}

/// The value at the dotted `path` of `table`.
fn lookup<'t>(table: &'t Table, path: &str) -> Option<&'t Value> {
    match path.split_once('.') {
        Some((section, rest)) => lookup(table.get(section)?.as_table()?, rest),
        None => table.get(path),
    }
}

/// Sets the value at the dotted `path` of `table`, making the tables on the way.
fn insert(table: &mut Table, path: &str, value: Value) {
    match path.split_once('.') {
        Some((section, rest)) => {
            let inner = table
                .entry(section)
                .or_insert_with(|| Value::Table(Table::new()));
            if !inner.is_table() {
                *inner = Value::Table(Table::new());
            }
            if let Value::Table(inner) = inner {
                insert(inner, rest, value);
            }
        }
        None => {
            table.insert(path.to_owned(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    fn layered(file: Option<&Path>, vars: &[(&str, &str)]) -> Result<Config> {
        let mut layers = Layers::defaults()?;
        if let Some(path) = file {
            layers.file(path)?;
        }
        layers.env(&env(vars))?;
        layers.finish()
    }

    #[test]
    fn file_then_env_override_defaults() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("cogman.toml");
        std::fs::write(
            &file,
            "request_timeout = \"7s\"\n[amqp]\nhigh_priority_queue_count = 2\n[sqlite]\npath = \"x.db\"\n",
        )
        .expect("write config");
        let config = layered(
            Some(&file),
            &[
                ("COGMAN_AMQP_HIGH_PRIORITY_QUEUE_COUNT", "3"),
                ("COGMAN_AMQP_URI", "amqp://h"),
                ("COGMAN_REDIS_NAMESPACE", "123"),
                ("PATH", "/bin"),
            ],
        )
        .expect("valid layers");
        assert_eq!(config.request_timeout, Duration::from_secs(7));
        assert_eq!(config.amqp.high_priority_queue_count, 3);
        assert_eq!(config.amqp.uri.as_deref(), Some("amqp://h"));
        assert_eq!(config.amqp.low_priority_queue_count, 1, "a default kept");
        assert_eq!(
            config.redis.namespace, "123",
            "a string field stays a string"
        );
        assert_eq!(config.sqlite.path, std::path::PathBuf::from("x.db"));
    }

    #[test]
    fn queue_type_and_several_uris_are_settings() {
        let config = layered(
            None,
            &[
                ("COGMAN_AMQP_QUEUE_TYPE", "quorum"),
                ("COGMAN_AMQP_URI", "amqp://u:pw@a:5672,amqp://u:pw@b:5673"),
            ],
        )
        .expect("valid layers");
        assert_eq!(config.amqp.queue_type, cogman_amqp::QueueType::Quorum);
        let shown = format!("{:?}", config.amqp);
        assert!(!shown.contains("pw"), "{shown}");
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("cogman.toml");
        std::fs::write(&file, "[amqp]\nqueue_type = \"stream\"\n").expect("write config");
        let refused = layered(Some(&file), &[]).expect_err("an unknown queue type");
        assert!(format!("{refused:#}").contains("queue_type"), "{refused:#}");
        let refused = layered(None, &[("COGMAN_AMQP_URI", "amqp://a,http://b")])
            .expect_err("every URI is checked");
        assert!(format!("{refused:#}").contains("amqp.uri"), "{refused:#}");
    }

    #[test]
    fn bad_input_is_refused_clearly() {
        let unknown = layered(None, &[("COGMAN_AMQP", "amqp://h")]).expect_err("a section");
        assert!(unknown.to_string().contains("COGMAN_AMQP"), "{unknown}");
        let unknown = layered(None, &[("COGMAN_NO_SUCH", "1")]).expect_err("unknown variable");
        assert!(unknown.to_string().contains("COGMAN_NO_SUCH"), "{unknown}");
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "no_such_field = 1\n").expect("write");
        let typo = layered(Some(&file), &[]).expect_err("unknown field");
        assert!(typo.to_string().contains("no_such_field"), "{typo}");
        assert!(typo.to_string().contains("c.toml"), "{typo}");
        let bad = layered(None, &[("COGMAN_REQUEST_TIMEOUT", "soon")]).expect_err("bad duration");
        assert!(bad.to_string().contains("invalid config"), "{bad}");
        assert!(bad.to_string().contains("COGMAN_REQUEST_TIMEOUT"), "{bad}");
    }

    #[test]
    fn queues_come_from_a_comma_separated_variable() {
        let config = layered(None, &[("COGMAN_QUEUES", "default, images,mail")]).expect("valid");
        assert_eq!(config.queues, ["default", "images", "mail"]);
        assert_eq!(
            layered(None, &[]).expect("defaults").queues,
            ["default"],
            "default queue"
        );
        let bad = layered(None, &[("COGMAN_QUEUES", "a b")]).expect_err("bad queue name");
        assert!(bad.to_string().contains("COGMAN_QUEUES"), "{bad}");
        assert!(bad.to_string().contains("queue name"), "{bad}");
    }

    #[test]
    fn a_bad_value_names_its_source() {
        let from_env = layered(None, &[("COGMAN_AMQP_URI", "http://h")]).expect_err("bad URI");
        let shown = from_env.to_string();
        assert!(shown.contains("amqp.uri"), "{shown}");
        assert!(shown.contains("COGMAN_AMQP_URI"), "{shown}");
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "concurrency = 0\n").expect("write");
        let from_file = layered(Some(&file), &[]).expect_err("zero concurrency");
        let shown = from_file.to_string();
        assert!(shown.contains("concurrency"), "{shown}");
        assert!(shown.contains(&file.display().to_string()), "{shown}");
    }

    #[test]
    fn handler_variables_are_not_config() {
        let config = layered(
            None,
            &[
                ("COGMAN_TASK_ID", "0192"),
                ("COGMAN_ORIGINAL_TASK_ID", "0191"),
                ("COGMAN_TASK_NAME", "x"),
                ("COGMAN_ATTEMPT", "1"),
                ("COGMAN_RETRY_LEFT", "2"),
                ("COGMAN_PRIMARY_KEY", ""),
                ("COGMAN_SERVER", "http://127.0.0.1:1"),
            ],
        )
        .expect("not config fields");
        assert_eq!(config, Config::default());
    }
}
