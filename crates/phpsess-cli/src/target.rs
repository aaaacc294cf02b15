//! Which Redis the ops commands (`stats`, `top`, `ls`, `doctor`, `exporter`) look at, found the
//! way the PHP side finds it: `--save-path`, else `PHPSESS_SAVE_PATH`, else the local PHP's
//! `session.save_handler`/`session.save_path` as `php -r` sees them (or with `--php-ini FILE`),
//! so an operator on a web server types `phpsess stats` and nothing else. The password comes
//! from the save_path, `--auth-file`, `PHPSESS_AUTH`, or PHP's own `phpsess.auth`, never from the
//! command line. PHP is asked once; its settings are kept for `doctor`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};
use phpsess::laravel::{Encrypter, KeyLayout};
use phpsess::save_path::Auth;
use phpsess::store::{KeyScanner, Naming, Topology};

/// The environment variable naming the save_path when `--save-path` is not given.
pub const SAVE_PATH_ENV: &str = "PHPSESS_SAVE_PATH";

/// `--save-path`, `--cluster`, credentials and where PHP's settings come from.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// The `session.save_path` (phpredis `redis` syntax, `redis://` URL, `sentinel://…`, or with
    /// --cluster the `seed[]=…` syntax). Default: $PHPSESS_SAVE_PATH, else the local PHP's.
    #[arg(long, value_name = "SAVE_PATH")]
    save_path: Option<String>,
    /// The save_path is for the `rediscluster` / `phpsess_cluster` handler (found by itself when
    /// read from PHP, or when it holds `seed[]=`).
    #[arg(long)]
    cluster: bool,
    #[command(flatten)]
    credentials: crate::credentials::Credentials,
    /// Read PHP's settings with this php.ini (`php -c FILE`) instead of the default one.
    #[arg(long, value_name = "FILE")]
    php_ini: Option<PathBuf>,
    /// The PHP binary whose settings apply (default `php`).
    #[arg(long, value_name = "BINARY", default_value = "php")]
    php: PathBuf,
    /// The whole key prefix before the session id, instead of the save_path's: for sessions
    /// another writer keeps, e.g. Laravel's `laravel_database_laravel_cache:` (as `laravel ls
    /// --prefix`).
    #[arg(long, value_name = "FULL_KEY_PREFIX")]
    prefix: Option<String>,
    /// The sessions are Laravel's (its Redis session store): keys by Laravel's layout
    /// (`--laravel-version` with `--app-name`, or `--prefix`), 40-character ids, payloads
    /// decrypted with `--app-key`. Implied by `--app-key` and `--laravel-version`.
    #[arg(long)]
    laravel: bool,
    #[command(flatten)]
    laravel_app: crate::cmd::laravel::LaravelArgs,
}

/// Laravel's sessions, when the target holds them: where they are and how to open them.
#[derive(Debug)]
pub struct LaravelTarget {
    /// The full key prefix before the session id.
    pub layout: KeyLayout,
    /// `--app-key` (with `--previous-key`s), for encrypted sessions.
    pub encrypter: Option<Encrypter>,
}

/// Where the save_path came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `--save-path`.
    Flag,
    /// `PHPSESS_SAVE_PATH`.
    Env,
    /// PHP's `session.save_path`.
    Php,
}

/// A resolved target: the save_path, its kind, credentials, and PHP's settings when read.
#[derive(Debug)]
pub struct Target {
    pub save_path: String,
    pub cluster: bool,
    pub source: Source,
    auth: Option<Auth>,
    /// PHP's INI settings (`session.*`, `phpsess.*`, `max_execution_time`, …) and loaded
    /// extensions, when PHP was asked.
    pub php: Option<PhpSettings>,
    /// `--prefix`: the key prefix to scan instead of the save_path's.
    prefix: Option<String>,
    /// Laravel's sessions (`--laravel`, `--app-key`, `--laravel-version`).
    pub laravel: Option<LaravelTarget>,
}

/// What the local PHP says about sessions.
#[derive(Debug, Clone, Default)]
pub struct PhpSettings {
    /// INI values by name (strings, as `ini_get` gives them).
    pub ini: BTreeMap<String, String>,
    /// Extensions that matter here: `phpsess`, `redis`.
    pub extensions: Vec<String>,
}

impl PhpSettings {
    /// An INI value, or "" when unset.
    pub fn get(&self, name: &str) -> &str {
        self.ini.get(name).map_or("", String::as_str)
    }
}

/// The PHP that prints what we need as JSON; settings of extensions not loaded are left out.
const PHP_PROBE: &str = r#"$names = ['session.save_handler', 'session.save_path', 'session.use_strict_mode',
 'session.cookie_secure', 'session.cookie_httponly', 'session.cookie_samesite', 'session.gc_maxlifetime',
 'session.serialize_handler', 'max_execution_time'];
$ini = [];
foreach ($names as $n) { $v = ini_get($n); if ($v !== false) { $ini[$n] = $v; } }
foreach (['phpsess', 'redis'] as $e) {
  if (extension_loaded($e)) { foreach (ini_get_all($e, false) as $k => $v) { $ini[$k] = (string) $v; } }
}
echo json_encode(['ini' => $ini, 'extensions' => array_values(array_filter(['phpsess', 'redis'], 'extension_loaded'))]);"#;

impl TargetArgs {
    /// Whether PHP's settings were pointed at explicitly (`--php-ini`, or a `--php` other than `php`).
    pub fn php_requested(&self) -> bool {
        self.php_ini.is_some() || self.php.as_os_str() != "php"
    }

    /// Ask PHP for its session settings (`php [-c FILE] -r …`).
    pub fn read_php(&self) -> Result<PhpSettings> {
        let mut cmd = Command::new(&self.php);
        if let Some(ini) = &self.php_ini {
            if !ini.exists() {
                bail!("--php-ini {}: no such file", ini.display());
            }
            cmd.arg("-c").arg(ini);
        }
        let out = cmd.arg("-r").arg(PHP_PROBE).output().with_context(|| {
            format!(
                "cannot run {} to read session.save_path",
                self.php.display()
            )
        })?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            bail!(
                "{} could not report its session settings: {}",
                self.php.display(),
                err.lines().next().unwrap_or("no message")
            );
        }
        // PHP may print startup warnings before the JSON; it is the last line.
        let text = String::from_utf8_lossy(&out.stdout);
        let json = text.lines().last().unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(json)
            .with_context(|| format!("{} printed no settings", self.php.display()))?;
        let ini = v["ini"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let extensions = v["extensions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Ok(PhpSettings { ini, extensions })
    }

    /// Resolve the target: `--save-path`, `PHPSESS_SAVE_PATH`, or PHP (asked once).
    /// `want_php`: ask PHP for its settings even when the save_path is given (for `doctor`).
    pub fn resolve(&self, want_php: bool) -> Result<Target> {
        let env = std::env::var(SAVE_PATH_ENV).ok().filter(|v| !v.is_empty());
        let (save_path, source) = match (&self.save_path, env) {
            (Some(sp), _) => (Some(sp.clone()), Source::Flag),
            (None, Some(sp)) => (Some(sp), Source::Env),
            (None, None) => (None, Source::Php),
        };
        let php = if save_path.is_none() || want_php {
            Some(self.read_php()?)
        } else {
            None
        };
        let (save_path, cluster) = match save_path {
            Some(sp) => {
                let cluster = self.cluster || sp.contains("seed[]=");
                (sp, cluster)
            }
            None => {
                let settings = php.as_ref().context("PHP settings")?;
                let handler = settings.get("session.save_handler");
                let cluster = match handler {
                    "phpsess" | "redis" => false,
                    "phpsess_cluster" | "rediscluster" => true,
                    other => bail!(
                        "no --save-path, no {SAVE_PATH_ENV}, and PHP's session.save_handler is {other:?}, \
                         not phpsess or redis: give --save-path"
                    ),
                };
                let sp = settings.get("session.save_path");
                if sp.is_empty() {
                    bail!("PHP's session.save_path is empty: give --save-path");
                }
                (sp.to_owned(), cluster || self.cluster)
            }
        };
        let laravel = if self.laravel || self.laravel_app.given() {
            Some(LaravelTarget {
                layout: self.laravel_app.layout(self.prefix.as_deref())?,
                encrypter: self.laravel_app.encrypter()?,
            })
        } else {
            None
        };
        let mut auth = self.credentials.auth()?;
        if auth.is_none() {
            // The extension's own credentials setting, as the PHP side would use it.
            if let Some(setting) = php
                .as_ref()
                .map(|p| p.get("phpsess.auth"))
                .filter(|s| !s.is_empty())
            {
                auth = Some(
                    Auth::from_setting_or_file(setting)
                        .map_err(|e| anyhow::anyhow!("phpsess.auth: {e}"))?,
                );
            }
        }
        Ok(Target {
            save_path,
            cluster,
            source,
            auth,
            php,
            prefix: self.prefix.clone(),
            laravel,
        })
    }
}

impl Target {
    /// A fresh topology for this target (opens no connection).
    pub fn topology(&self) -> Result<Topology> {
        let t = if self.cluster {
            Topology::from_cluster_save_path_with_auth(&self.save_path, self.auth.as_ref())
        } else {
            Topology::from_save_path_with_auth(&self.save_path, self.auth.as_ref())
        };
        t.with_context(|| match self.source {
            Source::Flag => "--save-path".to_owned(),
            Source::Env => SAVE_PATH_ENV.to_owned(),
            Source::Php => "PHP's session.save_path".to_owned(),
        })
    }

    /// A scanner over this target.
    pub fn scanner(&self) -> Result<KeyScanner> {
        let scanner = KeyScanner::new(self.topology()?);
        Ok(match (&self.laravel, &self.prefix) {
            (Some(laravel), _) => scanner
                .with_prefix(laravel.layout.prefix().to_vec())
                .with_naming(Naming::Laravel),
            (None, Some(p)) => scanner.with_prefix(p.as_bytes().to_vec()),
            (None, None) => scanner,
        })
    }
}
