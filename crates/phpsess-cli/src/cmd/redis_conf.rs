//! `phpsess redis-conf`: a complete redis.conf for a Redis that holds only sessions, every line
//! commented with why. `phpsess doctor` passes on a server started with it (tested).

use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::output;

/// `phpsess redis-conf [--port P] [--maxmemory SIZE] [--password-file F] [--dir D]`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The port to listen on.
    #[arg(long, default_value_t = 6379, value_name = "P")]
    port: u16,
    /// Memory for sessions (`512mb`, `2gb`): leave the machine room for the AOF rewrite's fork.
    #[arg(long, default_value = "1gb", value_name = "SIZE")]
    maxmemory: String,
    /// Read the password from the first line of F; without it a random one is generated.
    #[arg(long, value_name = "F")]
    password_file: Option<PathBuf>,
    /// Where the AOF and snapshots live.
    #[arg(long, default_value = "/var/lib/redis", value_name = "D")]
    dir: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let password = match &args.password_file {
        Some(f) => {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("--password-file: cannot read {}", f.display()))?;
            let line = text.lines().next().unwrap_or_default().trim().to_owned();
            if line.is_empty() {
                bail!("--password-file {}: the first line is empty", f.display());
            }
            line
        }
        None => random_password()?,
    };
    if password.chars().any(|c| c.is_whitespace() || c == '"') {
        bail!("the password must not contain spaces or quotes (redis.conf would split it)");
    }
    let valid_size = args
        .maxmemory
        .trim_end_matches(|c: char| c.is_ascii_alphabetic());
    if valid_size.is_empty() || valid_size.parse::<u64>().is_err() {
        bail!(
            "--maxmemory {:?}: give a size like 512mb or 2gb",
            args.maxmemory
        );
    }
    output::bytes(render(&args, &password).as_bytes())
}

/// 32 random bytes from the kernel, hex.
fn random_password() -> Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read /dev/urandom for a password; give --password-file")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn render(args: &Args, password: &str) -> String {
    format!(
        r#"# redis.conf for a Redis that holds PHP sessions only (phpsess redis-conf).
# Check a running server with: phpsess doctor --save-path 'tcp://127.0.0.1:{port}'

# Listen on loopback only; add the private address the web servers use (never 0.0.0.0).
bind 127.0.0.1 -::1
port {port}
# Refuse clients from elsewhere while no password is set (a second safety net).
protected-mode yes

# Sessions are credentials: no client without the password (put it in phpsess.auth = file:/…).
requirepass {password}

# A ceiling, so Redis never takes the machine down; sessions are small, this is many of them.
maxmemory {maxmemory}
# When full, evict only keys with a TTL (every session has one), least recently used first;
# never allkeys-*, which would evict live sessions and log users out.
maxmemory-policy volatile-lru

# Every write to the append-only file, flushed to disk once a second: a restart or crash loses
# at most a second of sessions.
appendonly yes
appendfsync everysec
# The AOF is the persistence; no RDB snapshots on top (add "save" lines for backups).
save ""
dir {dir}

# One database: sessions only. Nothing else shares the keyspace (or the eviction).
databases 1

# Find dead clients (a web server that went away) within minutes.
tcp-keepalive 300
# Run in the foreground under systemd or a container.
daemonize no
"#,
        port = args.port,
        maxmemory = args.maxmemory,
        dir = args.dir.display(),
    )
}
