//! Where settings come from, in gunicorn's order (later wins): built-in and environment defaults,
//! the config file, `GUNICORN_CMD_ARGS` (then `RGUNICORN_CMD_ARGS`), and the command line.

use pyo3::prelude::*;

use super::cli::{parse_args, CliArgs};
use super::file::apply_config_file;
use super::hooks::Hooks;
use super::{Config, ConfigError, Environment};

/// What the process was asked to do.
pub enum Invocation {
    /// Serve (or check, or print) this configuration.
    Serve(Box<Config>, Hooks),
    /// Print the version and exit.
    Version,
    /// Print help and exit.
    Help(String),
}

/// Resolve the configuration from `argv` and the environment.
pub fn resolve(py: Python<'_>, argv: &[String], env: Environment) -> Result<Invocation, ConfigError> {
    let cli = parse_args(argv)?;
    if cli.help {
        return Ok(Invocation::Help(super::cli::command().render_help().to_string()));
    }
    if cli.version {
        return Ok(Invocation::Version);
    }
    if cli.settings_reference {
        return Ok(Invocation::Help(super::docs::settings_reference()));
    }
    let mut env_args = Vec::new();
    for var in ["GUNICORN_CMD_ARGS", "RGUNICORN_CMD_ARGS"] {
        if let Some(text) = env.vars.get(var) {
            let words = shlex::split(text).ok_or_else(|| ConfigError::Usage(format!("{var}: unbalanced quotes")))?;
            let argv: Vec<String> = std::iter::once("rgunicorn".to_string()).chain(words).collect();
            let parsed = parse_args(&argv).map_err(|e| ConfigError::Usage(format!("{var}: {e}")))?;
            env_args.push(parsed);
        }
    }

    let default_file = std::path::Path::new(&env.cwd).join("gunicorn.conf.py");
    let cwd = env.cwd.clone();
    let mut cfg = Config::with_env_defaults(env)?;
    let mut hooks = Hooks::default();
    let explicit = cli.text("config").or_else(|| env_args.iter().rev().find_map(|a: &CliArgs| a.text("config")));
    let project_dirs: Vec<String> =
        env_args.iter().chain(std::iter::once(&cli)).filter_map(|a| a.text("chdir")).filter_map(project_dir).collect();
    py.import("rgunicorn._config")
        .and_then(|m| m.call_method1("prepare_sys_path", (cwd, project_dirs)))
        .map_err(|e| ConfigError::ConfigFile(format!("Cannot prepare sys.path: {e}")))?;
    // As gunicorn: the command line's APP_MODULE is default_proc_name before the config file runs,
    // so a config file may still set default_proc_name.
    if let Some(app) = &cli.app_module {
        cfg.set_app_module(app);
    }
    match explicit {
        Some(location) => apply_config_file(py, location, &mut cfg, &mut hooks)?,
        None if default_file.exists() => {
            apply_config_file(py, &default_file.display().to_string(), &mut cfg, &mut hooks)?
        }
        None => {}
    }
    // As in gunicorn, text argparse cannot read (`-w x`) is a usage error (exit 2), a value its
    // validator refuses (`-w -1`) a configuration error (exit 1).
    for parsed in &env_args {
        parsed.apply(&mut cfg)?;
        if let (Some(app), None) = (&parsed.app_module, &cli.app_module) {
            cfg.set_app_module(app);
        }
    }
    cli.apply(&mut cfg)?;
    cfg.apply_paste()?;
    Ok(Invocation::Serve(Box::new(cfg), hooks))
}

/// A `--chdir` from a command line as the absolute directory it names, if it is one (a bad one
/// is reported when the command line is applied).
fn project_dir(text: &str) -> Option<String> {
    let setting = super::settings::find("chdir")?;
    match super::parse::validate(setting, super::value::Value::Str(text.to_string())) {
        Ok(super::value::Value::Str(dir)) => Some(dir),
        _ => None,
    }
}
