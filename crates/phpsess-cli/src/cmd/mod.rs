//! The subcommands. Each module holds one command's clap arguments and its `run`; a new command
//! is a new module and a new variant here.

use clap::{Subcommand, ValueEnum};
use phpsess::session::Format;

mod decode;
pub mod doctor;
mod encode;
mod exporter;
mod index;
pub mod laravel;
mod ls;
mod redis_conf;
mod save_path;
mod show;
mod stats;
mod top;
mod users;

/// What `phpsess` can do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode a serialized PHP value or a stored session and print it as JSON.
    Decode(decode::Args),
    /// Encode lossless JSON (from `decode --lossless`) back into PHP's bytes.
    Encode(encode::Args),
    /// Parse a phpredis `session.save_path` and print the configuration as JSON.
    SavePath(save_path::Args),
    /// Show one session from Redis: data, TTL, size, host and lock holder.
    Show(show::Args),
    /// A user's sessions from the per-user index: id, TTL, bytes, host, lock holder.
    Sessions(users::SessionsArgs),
    /// End sessions so they stay ended: a user's (from the index) or by id.
    Kill(users::KillArgs),
    /// The per-user index: `index rebuild` fills it from the sessions already stored.
    Index(index::Args),
    /// Laravel's sessions: decrypt the cookie, show a session, list an app's or a user's sessions,
    /// end a user's sessions.
    // Boxed: its app options make it several times the size of the other commands' arguments.
    Laravel(Box<laravel::Args>),
    /// How many sessions, how big, how long they live, locks, and each Redis's memory and policy.
    Stats(stats::Args),
    /// The largest sessions, and the $_SESSION variables that make them large.
    Top(top::Args),
    /// List sessions, one line each (id, host, TTL, bytes, user).
    Ls(ls::Args),
    /// Check that the Redis (and the local PHP) are fit to hold sessions; exit 1 on a failure.
    Doctor(doctor::Args),
    /// Print a commented redis.conf for a Redis that holds sessions only.
    RedisConf(redis_conf::Args),
    /// Serve /metrics for Prometheus, scanning the store on an interval.
    Exporter(exporter::Args),
}

impl Command {
    /// Run the command; errors carry their context for one line on stderr.
    pub fn run(self) -> anyhow::Result<crate::Outcome> {
        let done = |r: anyhow::Result<()>| r.map(|()| crate::Outcome::Done);
        match self {
            Command::Decode(args) => done(decode::run(args)),
            Command::Encode(args) => done(encode::run(args)),
            Command::SavePath(args) => done(save_path::run(args)),
            Command::Show(args) => done(show::run(args)),
            Command::Sessions(args) => done(users::sessions(args)),
            Command::Kill(args) => done(users::kill(args)),
            Command::Index(args) => done(index::run(args)),
            Command::Laravel(args) => done(laravel::run(*args)),
            Command::Stats(args) => done(stats::run(args)),
            Command::Top(args) => done(top::run(args)),
            Command::Ls(args) => done(ls::run(args)),
            Command::Doctor(args) => doctor::run(args),
            Command::RedisConf(args) => done(redis_conf::run(args)),
            Command::Exporter(args) => done(exporter::run(args)),
        }
    }
}

/// A byte layout named on the command line: one serialized value, or a session encoding under
/// PHP's `session.serialize_handler` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Layout {
    /// One `serialize()`d value.
    Value,
    /// `session.serialize_handler = php`: `name|value…`.
    Php,
    /// `session.serialize_handler = php_serialize`: one serialized array.
    #[value(name = "php_serialize")]
    PhpSerialize,
    /// `session.serialize_handler = php_binary`: length byte, name, value….
    #[value(name = "php_binary")]
    PhpBinary,
}

impl Layout {
    /// The session format, or `None` for a single value.
    pub fn session_format(self) -> Option<Format> {
        match self {
            Layout::Value => None,
            Layout::Php => Some(Format::Php),
            Layout::PhpSerialize => Some(Format::PhpSerialize),
            Layout::PhpBinary => Some(Format::PhpBinary),
        }
    }
}
