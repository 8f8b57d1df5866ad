//! The download progress line of `-o FILE` on a terminal: bytes so far,
//! the total when the server said it, the rate; redrawn in place with a
//! carriage return, at most ten times a second, and ended with a newline.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Progress of one download, drawn on stderr or nowhere.
pub struct Progress {
    shown: bool,
    total: Option<u64>,
    done: u64,
    start: Instant,
    drawn: Option<Instant>,
}

impl Progress {
    /// Drawn only when `wanted` and stderr is a terminal (a pipe or a file
    /// gets no progress bytes).
    pub fn new(wanted: bool, total: Option<u64>) -> Progress {
        Progress {
            shown: wanted && std::io::stderr().is_terminal(),
            total,
            done: 0,
            start: Instant::now(),
            drawn: None,
        }
    }

    /// `n` more bytes arrived.
    pub fn add(&mut self, n: usize) {
        self.done += n as u64;
        let now = Instant::now();
        if self
            .drawn
            .is_none_or(|at| now.duration_since(at) >= Duration::from_millis(100))
        {
            self.draw(now);
        }
    }

    /// The last line, and a newline under it.
    pub fn finish(&mut self) {
        if self.shown {
            self.draw(Instant::now());
            eprintln!();
        }
    }

    fn draw(&mut self, now: Instant) {
        if !self.shown {
            return;
        }
        self.drawn = Some(now);
        let line = line(self.done, self.total, now.duration_since(self.start));
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line:<60}");
        let _ = err.flush();
    }
}

/// `"1.5 MiB / 8.0 MiB  18%  3.0 MiB/s"`, or without the total and share
/// when the size is unknown.
fn line(done: u64, total: Option<u64>, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    match total {
        Some(total) if total > 0 => format!(
            "{} / {}  {:>3}%  {}/s",
            size(done as f64),
            size(total as f64),
            done.saturating_mul(100) / total,
            size(rate)
        ),
        _ => format!("{}  {}/s", size(done as f64), size(rate)),
    }
}

fn size(bytes: f64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
