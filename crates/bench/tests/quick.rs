//! CI smoke test of the whole-process bench: `pressbot-bench --quick` must
//! run every scenario against the real daemon binaries and produce figures.
//! It asserts that figures exist and that the work completed, never how fast
//! (performance is read from `scripts/bench.sh`, not asserted in tests).

use std::path::PathBuf;
use std::process::Command;

#[test]
fn quick_mode_produces_figures() {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_pressbot-bench"));
    let bin_dir = bench.parent().expect("bin dir").to_path_buf();
    // The daemons are another package's binaries, which a test cannot
    // depend on: build them (debug profile, same target dir) if missing.
    if !bin_dir.join("decider").exists() || !bin_dir.join("pressbot").exists() {
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "-p",
                "pressbot-daemons",
                "-p",
                "pressbot-cli",
                "--bins",
            ])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building the daemon binaries failed");
    }
    // Without moto the bench records the AWS scenarios as skipped and this
    // test would pass having checked none of them: moto is required, as
    // for every AWS test (scripts/test.sh installs it and exports
    // PRESSBOT_MOTO_SERVER).
    assert!(
        pressbot_aws::testing::moto_server_path().is_some(),
        "moto_server not found: run `bash scripts/moto/ensure-moto.sh` (a venv under .build/) \
         or set {} to a moto_server executable",
        pressbot_aws::testing::MOTO_ENV
    );
    let json = tempfile::NamedTempFile::new().expect("temp file");
    let out = Command::new(&bench)
        .arg("--quick")
        .arg("--bin-dir")
        .arg(&bin_dir)
        .arg("--json")
        .arg(json.path())
        .output()
        .expect("run pressbot-bench");
    assert!(
        out.status.success(),
        "pressbot-bench --quick failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let figures: serde_json::Value =
        serde_json::from_slice(&std::fs::read(json.path()).expect("read figures")).expect("JSON");
    for scenario in ["ping", "steps", "slots"] {
        let s = &figures[scenario];
        assert_eq!(s["completed"], s["workflows"], "{scenario}: {s:#}");
        assert!(
            s["workflows_per_s"].as_f64().is_some_and(|v| v > 0.0),
            "{scenario}: {s:#}"
        );
        assert!(
            s["decider_cpu_ms_per_decision_task"].is_number(),
            "{scenario}: {s:#}"
        );
        assert!(
            s["after_load"]["decider"]["peak_rss_mb"].is_number(),
            "{scenario}: {s:#}"
        );
    }
    for scenario in ["aws", "aws-steps"] {
        let s = &figures[scenario];
        assert!(s["skipped"].is_null(), "{scenario} did not run: {s:#}");
        assert!(
            s["workflows"].as_u64().is_some_and(|w| w > 0),
            "{scenario}: {s:#}"
        );
        assert_eq!(s["completed"], s["workflows"], "{scenario}: {s:#}");
    }
    let p = &figures["pipeline"];
    assert_eq!(p["completed"], p["articles"], "pipeline: {p:#}");
    assert!(p["put_to_started"]["p50_ms"].is_number(), "pipeline: {p:#}");
    assert!(
        p["mb_per_s"].as_f64().is_some_and(|v| v > 0.0),
        "pipeline: {p:#}"
    );
    // The whole-pipeline figures of issue 15: `pressbot up` ran over every
    // generated package and each one completed, and ImageMagick and the
    // resize alone ran on every figure (their CPU was measured).
    let u = &figures["up-figures"];
    assert!(
        u["packages"].as_u64().is_some_and(|n| n >= 2),
        "up-figures: {u:#}"
    );
    assert_eq!(u["completed"], u["packages"], "up-figures: {u:#}");
    assert!(
        u["figures"].as_u64().is_some_and(|n| n >= 2),
        "up-figures: {u:#}"
    );
    for key in ["cpu_s", "peak_rss_mb", "packages_per_min", "mb_per_s"] {
        assert!(
            u["up"][key].as_f64().is_some_and(|v| v > 0.0),
            "up-figures: up.{key}: {u:#}"
        );
    }
    assert!(
        u["up"]["mean_activity_ms"]["ResizeImages"].is_number(),
        "up-figures: {u:#}"
    );
    for side in ["imagemagick", "pressbot_resize_alone"] {
        assert!(
            u[side]["cpu_s"].as_f64().is_some_and(|v| v > 0.0),
            "up-figures: {side}: {u:#}"
        );
        assert!(
            u[side]["jpeg_mb"].as_f64().is_some_and(|v| v > 0.0),
            "up-figures: {side}: {u:#}"
        );
    }
}
