//! What the memory benchmarks share: this process's peak resident set, and a sandbox served by
//! a child process (this bench binary started again with its own arguments), so the client's
//! peak memory is measured apart from the server's.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Peak resident set of this process so far (`VmHWM` of `/proc/self/status`), in KiB; 0 where
/// the kernel does not report it.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

/// A sandbox served by a child process, which prints `<base URL> <API key>` on its first line
/// of output and serves until its standard input closes.
pub struct ServingChild {
    /// The child process: dropping its stdin (`child.stdin.take()`) lets it stop.
    pub child: Child,
    /// The sandbox's base URL.
    pub base_url: String,
    /// An API key the sandbox accepts.
    pub key: String,
}

/// Starts this bench binary again with `args` and reads the address line it prints.
pub fn serve_in_child(args: &[&str]) -> ServingChild {
    let mut child = Command::new(std::env::current_exe().expect("this binary"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the sandbox process starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the sandbox's address");
    let mut words = line.split_whitespace();
    let (base_url, key) = (
        words.next().expect("a base URL").to_owned(),
        words.next().expect("an API key").to_owned(),
    );
    ServingChild {
        child,
        base_url,
        key,
    }
}
