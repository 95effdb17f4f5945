//! The Debian package (`scripts/deb/build.sh`), built from this test run's
//! binaries and installed with dpkg into a scratch root: what lands where,
//! the conffiles and dependencies dpkg sees, the maintainer scripts (system
//! user, env file ownership), the shipped configuration passing
//! `check-config`, the installed units passing `systemd-analyze verify`,
//! and a clean purge.
//!
//! The package is built from the test profile's binaries (`--bin-dir`), not
//! the `dist` profile a release ships (whole-program LTO, ~10 min on 2
//! cores): the staging, control data and scripts are the same either way.

mod support;

use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{bin, repo_root};

const BINARIES: [&str; 5] = [
    "pressbot",
    "decider",
    "activity-worker",
    "queue-worker",
    "workflow-starter",
];

/// Run a command; its stdout, or a panic with both streams.
fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value of one field of `dpkg-deb --field` output.
fn field(deb: &Path, name: &str) -> String {
    run(Command::new("dpkg-deb").arg("--field").arg(deb).arg(name))
        .trim()
        .to_owned()
}

/// A dpkg database for the scratch root that knows the host's installed
/// packages that satisfy the .deb's Depends (their status stanzas and file
/// lists), so dpkg checks the dependencies for real instead of being told
/// to ignore them.
fn admin_dir_with_dependencies(root: &Path, depends: &str) {
    let admin = root.join("var/lib/dpkg");
    for d in ["info", "updates", "triggers"] {
        std::fs::create_dir_all(admin.join(d)).expect("admin dir");
    }
    let mut status = String::new();
    for group in depends.split(',') {
        let installed = group.split('|').map(|alt| {
            alt.trim()
                .split([' ', '('])
                .next()
                .expect("package name")
                .to_owned()
        });
        let mut found = false;
        for name in installed {
            let out = Command::new("dpkg-query")
                .args(["-W", "-f=${binary:Package}\\n${db:Status-Status}", &name])
                .output()
                .expect("dpkg-query");
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let mut lines = text.lines();
            let (Some(qualified), Some("installed")) = (lines.next(), lines.next()) else {
                continue;
            };
            status.push_str(&run(Command::new("dpkg-query").args(["-s", &name])));
            status.push('\n');
            for list in [format!("{name}.list"), format!("{qualified}.list")] {
                let from = Path::new("/var/lib/dpkg/info").join(&list);
                if from.exists() {
                    std::fs::copy(&from, admin.join("info").join(&list)).expect("copy list");
                }
            }
            found = true;
            break;
        }
        assert!(found, "no package on this host satisfies `{group}`");
    }
    std::fs::write(admin.join("status"), status).expect("status");
}

fn dpkg(root: &Path) -> Command {
    let mut c = Command::new("dpkg");
    // Chrootless: the scratch root has no shell to chroot into; the
    // maintainer scripts honour DPKG_ROOT instead.
    c.arg(format!("--root={}", root.display()))
        .args(["--force-script-chrootless", "--log=/dev/null"]);
    c
}

#[test]
fn deb_installs_into_a_scratch_root_and_its_units_verify() {
    let uid = run(Command::new("id").arg("-u"));
    assert_eq!(
        uid.trim(),
        "0",
        "dpkg --root runs the maintainer scripts, which chown /etc/pressbot/env: run as root"
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let bins = tmp.path().join("bin");
    std::fs::create_dir(&bins).expect("bin dir");
    for b in BINARIES {
        std::os::unix::fs::symlink(bin(b), bins.join(b)).expect("link binary");
    }
    let out = run(Command::new("bash")
        .arg(repo_root().join("scripts/deb/build.sh"))
        .arg("--bin-dir")
        .arg(&bins)
        .arg("--out")
        .arg(tmp.path().join("out"))
        // The test profile's binaries are large; compressing them is time
        // the test need not spend.
        .args(["--compression", "none"]));
    let deb = PathBuf::from(out.lines().last().expect("build.sh prints the .deb"));
    assert!(
        deb.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("pressbot_") && n.ends_with(".deb")),
        "{deb:?}"
    );

    // Control data: dependencies from the binaries' shared libraries, and
    // every file under /etc a conffile.
    assert_eq!(field(&deb, "Package"), "pressbot");
    let depends = field(&deb, "Depends");
    assert!(depends.contains("libc6 (>= "), "Depends: {depends}");
    assert!(depends.contains("systemd | adduser"), "Depends: {depends}");
    let conffiles: BTreeSet<String> = run(Command::new("dpkg-deb")
        .arg("--info")
        .arg(&deb)
        .arg("conffiles"))
    .lines()
    .map(str::to_owned)
    .collect();
    let mut expected: BTreeSet<String> = [
        "/etc/pressbot/env",
        "/etc/pressbot/settings/default.toml",
        "/etc/pressbot/settings/prod.toml",
    ]
    .map(String::from)
    .into();
    for e in std::fs::read_dir(repo_root().join("workflows")).expect("workflows") {
        let name = e.expect("entry").file_name().into_string().expect("utf-8");
        if name.ends_with(".toml") {
            expected.insert(format!("/etc/pressbot/workflows/{name}"));
        }
    }
    assert_eq!(conffiles, expected, "conffiles");

    let contents = run(Command::new("dpkg-deb").arg("--contents").arg(&deb));
    let mut documented: Vec<String> = BINARIES.iter().map(|b| format!("./usr/bin/{b}")).collect();
    for u in std::fs::read_dir(repo_root().join("scripts/systemd")).expect("units") {
        let name = u.expect("entry").file_name().into_string().expect("utf-8");
        if !name.ends_with(".sh") {
            documented.push(format!("./usr/lib/systemd/system/{name}"));
        }
    }
    documented.extend(
        [
            "./usr/lib/sysusers.d/pressbot.conf",
            "./usr/share/man/man1/pressbot.1.gz",
            "./usr/share/man/man1/pressbot-status.1.gz",
            "./usr/share/bash-completion/completions/pressbot",
            "./usr/share/zsh/vendor-completions/_pressbot",
            "./usr/share/fish/vendor_completions.d/pressbot.fish",
            "./usr/share/doc/pressbot/copyright",
            "./usr/share/doc/pressbot/operations.md",
            "./usr/share/doc/pressbot/examples/pressbot-dashboard.json",
        ]
        .map(String::from),
    );
    for path in &documented {
        assert!(
            contents.lines().any(|l| l.ends_with(&format!(" {path}"))),
            "{path} not in the package:\n{contents}"
        );
    }
    assert!(
        contents.lines().all(|l| !l.contains("/usr/local/")),
        "nothing under /usr/local:\n{contents}"
    );

    // Install into a scratch root, maintainer scripts included.
    let root = tmp.path().join("root");
    admin_dir_with_dependencies(&root, &depends);
    systemd_base_units(&root);
    run(dpkg(&root).arg("-i").arg(&deb));
    let status = run(dpkg(&root).args(["-s", "pressbot"]));
    assert!(status.contains("Status: install ok installed"), "{status}");
    for b in BINARIES {
        let mode = std::fs::metadata(root.join("usr/bin").join(b))
            .unwrap_or_else(|e| panic!("/usr/bin/{b}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755, "/usr/bin/{b}");
    }
    let version = run(Command::new(root.join("usr/bin/pressbot")).arg("--version"));
    assert!(version.starts_with("pressbot "), "{version}");

    // postinst: the system user (systemd-sysusers from the package's
    // sysusers.d file) and the env file readable by its group only.
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).expect("etc/passwd");
    let user = passwd
        .lines()
        .find(|l| l.starts_with("pressbot:"))
        .unwrap_or_else(|| panic!("no user pressbot in\n{passwd}"));
    let fields: Vec<&str> = user.split(':').collect();
    assert_eq!(fields[5], "/var/lib/pressbot", "{user}");
    assert_eq!(fields[6], "/usr/sbin/nologin", "{user}");
    let group = std::fs::read_to_string(root.join("etc/group")).expect("etc/group");
    let gid: u32 = group
        .lines()
        .find_map(|l| l.strip_prefix("pressbot:"))
        .and_then(|rest| rest.split(':').nth(1))
        .and_then(|g| g.parse().ok())
        .unwrap_or_else(|| panic!("no group pressbot in\n{group}"));
    let env = std::fs::metadata(root.join("etc/pressbot/env")).expect("env file");
    assert_eq!((env.uid(), env.gid()), (0, gid), "/etc/pressbot/env owner");
    assert_eq!(
        env.permissions().mode() & 0o777,
        0o640,
        "/etc/pressbot/env mode"
    );

    // The configuration as shipped is what the units load: it must pass.
    let data = tmp.path().join("data");
    let check = Command::new(root.join("usr/bin/pressbot"))
        .arg("check-config")
        .env("PRESSBOT_ENV", "prod")
        .env("PRESSBOT_SETTINGS_DIR", root.join("etc/pressbot/settings"))
        .env(
            "PRESSBOT__WORKFLOWS_DIR",
            root.join("etc/pressbot/workflows"),
        )
        .env("PRESSBOT__LOCAL__DATA_DIR", &data)
        .env_remove("PRESSBOT__BACKEND")
        .output()
        .expect("check-config");
    assert!(
        check.status.success(),
        "check-config on the installed configuration:\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    // The installed units, with ExecStart resolved inside the scratch root.
    verify_units(&root);

    // Purge: binaries, units and conffiles go; the data dir would stay.
    run(dpkg(&root).args(["--purge", "pressbot"]));
    for gone in [
        "usr/bin/pressbot",
        "usr/lib/systemd/system/pressbot-decider.service",
        "etc/pressbot/env",
        "etc/pressbot/settings/default.toml",
    ] {
        assert!(!root.join(gone).exists(), "{gone} left after purge");
    }
}

/// The targets and slices of the host's systemd (which the package depends
/// on) in the scratch root: `systemd-analyze verify --root` resolves a
/// unit's dependencies (sysinit.target, system.slice, ...) inside the root.
fn systemd_base_units(root: &Path) {
    let dir = root.join("usr/lib/systemd/system");
    std::fs::create_dir_all(&dir).expect("unit dir");
    let mut copied = 0;
    for e in std::fs::read_dir("/usr/lib/systemd/system").expect("host units (systemd)") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "target" || x == "slice") && p.is_file() {
            std::fs::copy(&p, dir.join(p.file_name().expect("name"))).expect("copy unit");
            copied += 1;
        }
    }
    assert!(copied > 0, "no systemd targets on this host");
}

/// `systemd-analyze verify --root` on the units as installed: any complaint
/// (unknown key, bad value, an ExecStart binary missing at its installed
/// path) fails.
fn verify_units(root: &Path) {
    let units: Vec<String> = std::fs::read_dir(root.join("usr/lib/systemd/system"))
        .expect("installed units")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("pressbot"))
        .map(|name| format!("/usr/lib/systemd/system/{name}"))
        .collect();
    assert!(units.len() >= 8, "{units:?}");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", root.display()))
        .args(&units)
        // Notices about the host's own units are not ours.
        .env("SYSTEMD_LOG_LEVEL", "warning")
        .output()
        .expect("systemd-analyze (apt-get install systemd)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.trim().is_empty(),
        "systemd-analyze verify on the installed units:\n{text}"
    );
}
