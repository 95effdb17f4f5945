//! `pressbot check-config`: every problem of the settings, workflow
//! definitions, rules and `cron.toml` at once.

use crate::app::{CommonArgs, Loaded};
use std::path::PathBuf;

/// Print every problem found (exit 78), or a one-line summary (exit 0).
pub fn run(common: &CommonArgs) -> u8 {
    let check = check(common);
    let Some(loaded) = check.loaded else {
        for p in &check.problems {
            eprintln!("error: {p}");
        }
        eprintln!("{} problem(s) found", check.problems.len());
        return pressbot_daemons::EX_CONFIG;
    };
    println!(
        "settings ({}) valid; {} workflow definitions; {} new-file rules; {} cron schedules",
        common.env,
        loaded.definitions.iter().count(),
        loaded.rules.rules.len(),
        check.schedules
    );
    0
}

/// What `pressbot check-config` found: every problem, each naming the file
/// or `PRESSBOT__` variable it is in, so one run shows everything to fix
/// instead of one problem per run.
#[derive(Debug, Default)]
pub struct ConfigCheck {
    /// Everything loaded, when nothing failed.
    pub loaded: Option<Loaded>,
    pub problems: Vec<String>,
    /// Schedules in `cron.toml` (0 when there is none).
    pub schedules: usize,
}

/// Check settings, every workflow definition, the new-file rules and
/// `cron.toml`, going on past a failure wherever what follows does not
/// depend on it (within the settings too: see `app::check_settings`).
pub fn check(args: &CommonArgs) -> ConfigCheck {
    use pressbot_core::definition::{WorkflowDefinition, RESERVED_FILES};
    let mut check = ConfigCheck::default();
    let (settings, problems) = crate::app::check_settings(&args.settings_dir, &args.env);
    check
        .problems
        .extend(problems.iter().map(|p| describe_settings_problem(args, p)));
    // Without settings the definitions can still be checked, in the
    // directory the settings would most likely have named.
    let workflows_dir = settings.as_ref().map_or_else(
        || {
            std::env::var_os("PRESSBOT__WORKFLOWS_DIR")
                .map_or_else(|| PathBuf::from("workflows"), PathBuf::from)
        },
        |s| s.workflows_dir.clone(),
    );
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&workflows_dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !RESERVED_FILES.contains(&n))
            })
            .collect(),
        Err(e) => {
            check
                .problems
                .push(format!("{}: {e}", workflows_dir.display()));
            Vec::new()
        }
    };
    files.sort();
    let mut each_loads = true;
    for f in &files {
        if let Err(e) = WorkflowDefinition::load(f, &pressbot_activities::is_known_activity) {
            each_loads = false;
            check.problems.push(e.to_string());
        }
    }
    let Some(settings) = settings else {
        return check;
    };
    if !each_loads {
        return check;
    }
    // Across files: duplicates, versions, the rules' buckets and workflows.
    let loaded = match Loaded::from_settings(settings) {
        Ok(l) => l,
        Err(e) => {
            check.problems.push(e.to_string());
            return check;
        }
    };
    let cron = loaded.settings.workflows_dir.join("cron.toml");
    if cron.exists() {
        match crate::cron::load(&cron, &loaded) {
            Ok(s) => check.schedules = s.len(),
            Err(e) => check.problems.push(e.to_string()),
        }
    }
    if check.problems.is_empty() {
        check.loaded = Some(loaded);
    }
    check
}

/// A settings problem with where to look: the `PRESSBOT__` variable when
/// one sets the failing key, the file its value came from, else the files
/// merged for this environment.
fn describe_settings_problem(args: &CommonArgs, problem: &crate::app::SettingsProblem) -> String {
    let files = if args.env == "default" {
        args.settings_dir.join("default.toml").display().to_string()
    } else {
        format!(
            "{} over {}",
            args.settings_dir
                .join(format!("{}.toml", args.env))
                .display(),
            args.settings_dir.join("default.toml").display()
        )
    };
    let e = &problem.error;
    let Some(key) = &problem.key else {
        return e.to_string();
    };
    let var = settings_variable(key);
    if std::env::var_os(&var).is_some() {
        format!("{e} (`{key}` set by the environment variable {var})")
    } else {
        match problem.origin.as_deref() {
            Some(file) if file != "the environment" => format!("{e} (`{key}` in {file})"),
            _ => format!("{e} (in {files}, or set {var})"),
        }
    }
}

/// The environment variable that sets a settings key: `decider.slots` ->
/// `PRESSBOT__DECIDER__SLOTS` (an index such as `pools[0]` is dropped: a
/// list is set as a whole).
pub fn settings_variable(key: &str) -> String {
    let path: Vec<String> = key
        .split('.')
        .map(|part| part.split('[').next().unwrap_or(part).to_uppercase())
        .collect();
    format!("PRESSBOT__{}", path.join("__"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_keys_name_their_variables() {
        assert_eq!(
            settings_variable("decider.slots"),
            "PRESSBOT__DECIDER__SLOTS"
        );
        assert_eq!(
            settings_variable("worker.pools[0].slots"),
            "PRESSBOT__WORKER__POOLS__SLOTS"
        );
        assert_eq!(settings_variable("prefix"), "PRESSBOT__PREFIX");
    }
}
