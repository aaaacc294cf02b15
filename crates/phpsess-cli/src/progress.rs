//! The progress bar of the scanning commands: on stderr, and only when stderr is a terminal
//! (indicatif draws nothing otherwise, so pipes and logs stay clean).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use phpsess::store::ScanEvent;

/// A bar over all servers' keys (the sum of their `DBSIZE`s, learned as each server starts).
pub struct ScanProgress {
    bar: ProgressBar,
    /// Keys of the servers done before the current one.
    done_before: u64,
    current: u64,
}

impl ScanProgress {
    /// A bar on stderr, hidden unless stderr is a terminal.
    pub fn new() -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(0), target);
        // Invariant: the template is a constant that indicatif accepts (checked by a unit test).
        let style = ProgressStyle::with_template(
            "{spinner} scanning {msg} [{bar:30}] {human_pos}/{human_len} keys ({per_sec}, {eta})",
        )
        .expect("a valid progress template")
        .progress_chars("=> ");
        bar.set_style(style);
        ScanProgress {
            bar,
            done_before: 0,
            current: 0,
        }
    }

    /// Follow one scan event; `label` names the server being scanned.
    pub fn on_event(&mut self, event: &ScanEvent<'_>, label: impl FnOnce(usize) -> String) {
        match event {
            ScanEvent::Server { server, dbsize } => {
                self.done_before += self.current;
                self.current = 0;
                self.bar.inc_length(*dbsize);
                self.bar.set_message(label(*server));
            }
            ScanEvent::Step { scanned, .. } => {
                self.current = *scanned;
                self.bar.set_position(self.done_before + scanned);
            }
            _ => {}
        }
    }

    /// Remove the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bar_builds() {
        let p = super::ScanProgress::new();
        p.finish();
    }
}
