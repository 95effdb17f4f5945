//! A fixed glibc mmap threshold for the processes that resize figures
//! (`activity-worker`, `pressbot up`).
//!
//! Why: glibc's malloc raises its mmap threshold each time a block it had
//! mmapped is freed (up to 32 MiB), so after the first figure the 5–12 MB
//! buffers of each figure (its file, the decoded RGB8 pixels, the resizer's
//! intermediate) come from the per-thread arenas, and memory freed there
//! stays resident. `pressbot up` over the 20-package benchmark set peaked
//! at 300–384 MB that way, and at 94 MB with the threshold fixed at 1 MiB
//! (docs/benchmarks.md, section 6). The threshold is read by glibc from
//! `MALLOC_MMAP_THRESHOLD_` when the process starts, and setting it from
//! inside needs `mallopt`, an `unsafe` FFI call the workspace forbids; so a
//! process started without it replaces itself (`exec`, same pid, same
//! arguments, nothing run yet) with the variable set. An operator's own
//! value is kept.

/// The variable glibc reads at start-up, and the value set when absent:
/// blocks of 1 MiB and more are mmapped and go back to the system on free.
pub const VAR: &str = "MALLOC_MMAP_THRESHOLD_";
pub const VALUE: &str = "1048576";

/// Re-executes the current process with [`VAR`] set, when it is not set
/// already and the C library is glibc on Linux; returns (doing nothing)
/// otherwise, or when the exec fails (the process runs on as it was).
pub fn fixed_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os(VAR).is_some() {
            return;
        }
        // /proc/self/exe: the very binary running, even if its path was
        // replaced since (an upgrade); a deleted one fails to exec, and
        // then the process simply continues.
        let mut args = std::env::args_os();
        let arg0 = args.next().unwrap_or_default();
        let err = std::process::Command::new("/proc/self/exe")
            .arg0(arg0)
            .args(args)
            .env(VAR, VALUE)
            .exec();
        eprintln!("could not re-execute with {VAR}={VALUE} ({err}); running on without it");
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::{fixed_mmap_threshold, VALUE, VAR};
    use std::process::Command;

    const CHILD: &str = "PRESSBOT_TEST_MEMORY_CHILD";
    const NAME: &str = "memory::tests::the_process_replaces_itself_with_the_threshold_set";

    /// In a child (this test binary re-run on this one test): what the
    /// process sees after `fixed_mmap_threshold`, which may have replaced
    /// it, starting this test again in the new image.
    #[test]
    fn the_process_replaces_itself_with_the_threshold_set() {
        if std::env::var_os(CHILD).is_some() {
            fixed_mmap_threshold();
            println!("seen {VAR}={:?}", std::env::var(VAR).ok());
            return;
        }
        let run = |value: Option<&str>| {
            let mut c = Command::new(std::env::current_exe().expect("test binary"));
            c.args(["--exact", NAME, "--nocapture", "--test-threads=1"])
                .env(CHILD, "1")
                .env_remove(VAR);
            if let Some(v) = value {
                c.env(VAR, v);
            }
            let out = c.output().expect("run the child");
            assert!(out.status.success(), "{out:?}");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let unset = run(None);
        assert!(
            unset.contains(&format!("seen {VAR}=Some(\"{VALUE}\")")),
            "{unset}"
        );
        // An operator's own value is kept, and nothing is re-executed.
        let own = run(Some("4194304"));
        assert!(
            own.contains(&format!("seen {VAR}=Some(\"4194304\")")),
            "{own}"
        );
    }
}
