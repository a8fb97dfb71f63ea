//! Where settings come from, in gunicorn's order (later wins): built-in and environment defaults,
//! the config file, `GUNICORN_CMD_ARGS` (then `RGUNICORN_CMD_ARGS`), and the command line.

use pyo3::prelude::*;

use super::file::apply_config_file;
use super::hooks::Hooks;
use super::{Config, ConfigError, Environment};
use crate::cli::{parse_args, CliArgs};

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
        return Ok(Invocation::Help(crate::cli::command().render_help().to_string()));
    }
    if cli.version {
        return Ok(Invocation::Version);
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
    let mut cfg = Config::with_env_defaults(env)?;
    let mut hooks = Hooks::default();
    let explicit = cli.text("config").or_else(|| env_args.iter().rev().find_map(|a: &CliArgs| a.text("config")));
    match explicit {
        Some(location) => apply_config_file(py, location, &mut cfg, &mut hooks)?,
        None if default_file.exists() => {
            apply_config_file(py, &default_file.display().to_string(), &mut cfg, &mut hooks)?
        }
        None => {}
    }
    // A bad value on a command line is a usage error (exit 2), as argparse makes it in gunicorn.
    let usage = |e: ConfigError| match e {
        ConfigError::BadValue { .. } => ConfigError::Usage(e.to_string()),
        other => other,
    };
    for parsed in &env_args {
        parsed.apply(&mut cfg).map_err(usage)?;
        if let Some(app) = &parsed.app_module {
            cfg.set_app_module(app);
        }
    }
    cli.apply(&mut cfg).map_err(usage)?;
    if let Some(app) = &cli.app_module {
        cfg.set_app_module(app);
    }
    cfg.apply_paste()?;
    Ok(Invocation::Serve(Box::new(cfg), hooks))
}
