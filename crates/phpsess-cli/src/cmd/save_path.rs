//! `phpsess save-path`: parse a `session.save_path` as phpredis would (or phpsess's own
//! `sentinel://` form, as the store reads it) and print the result.

use anyhow::Result;
use phpsess::save_path::{ClusterSavePath, SavePath, SentinelSavePath};

use crate::output;

/// `phpsess save-path [--cluster] [--compact] STRING`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Parse the `rediscluster` handler's syntax (`seed[]=host:port&timeout=…`) instead of the
    /// `redis` handler's (`tcp://host:port?weight=…, unix:///path`, or phpsess's
    /// `sentinel://host:port,host:port/master?…`).
    #[arg(long)]
    cluster: bool,
    /// Print the JSON on one line instead of indented.
    #[arg(long)]
    compact: bool,
    /// The save_path, as written in php.ini (quote it for the shell).
    #[arg(value_name = "STRING", allow_hyphen_values = true)]
    save_path: String,
}

pub fn run(args: Args) -> Result<()> {
    let json = if args.cluster {
        serde_json::to_value(ClusterSavePath::parse(&args.save_path)?)?
    } else if SentinelSavePath::matches(&args.save_path) {
        serde_json::to_value(SentinelSavePath::parse(&args.save_path)?)?
    } else {
        serde_json::to_value(SavePath::parse(&args.save_path)?)?
    };
    output::json(&json, !args.compact)
}
