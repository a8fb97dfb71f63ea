//! The command line, generated from the settings table.

use clap::{Arg, ArgAction, Command};

use crate::config::settings::{Kind, SETTINGS};
use crate::config::{Config, ConfigError};

/// What the command line asks for.
#[derive(Debug)]
pub enum Invocation {
    /// Serve with this configuration.
    Serve(Box<Config>),
    /// Print the version and exit.
    Version,
    /// Print help and exit.
    Help(String),
}

/// The clap command with one argument per settings row.
pub fn command() -> Command {
    let mut cmd = Command::new("rgunicorn")
        .about("A WSGI HTTP server for Python, written in Rust, compatible with gunicorn.")
        .override_usage("rgunicorn [OPTIONS] [APP_MODULE]")
        .disable_version_flag(true)
        .disable_help_flag(true)
        .arg(Arg::new("help").short('h').long("help").action(ArgAction::SetTrue).help("Show this help and exit."))
        .arg(Arg::new("version").short('v').long("version").action(ArgAction::SetTrue).help("Show the version and exit."))
        .arg(Arg::new("wsgi_app").value_name("APP_MODULE").help("The WSGI application: MODULE[:CALLABLE]."));
    for setting in SETTINGS {
        let mut arg = Arg::new(setting.name).help(setting.help);
        let mut longs = Vec::new();
        for flag in setting.flags {
            if let Some(long) = flag.strip_prefix("--") {
                longs.push(long);
            } else if let Some(short) = flag.strip_prefix('-').and_then(|s| s.chars().next()) {
                arg = arg.short(short);
            }
        }
        if let Some((first, rest)) = longs.split_first() {
            arg = arg.long(*first);
            for alias in rest {
                arg = arg.visible_alias(*alias);
            }
        }
        arg = match setting.kind {
            Kind::Value => arg.action(ArgAction::Set).value_name(setting.meta).allow_hyphen_values(true),
            Kind::List => arg.action(ArgAction::Append).value_name(setting.meta),
            Kind::Flag => arg.action(ArgAction::SetTrue),
        };
        cmd = cmd.arg(arg);
    }
    cmd
}

/// Parse `argv` (program name first) on top of the environment defaults.
pub fn parse(argv: &[String], env: impl Fn(&str) -> Option<String>) -> Result<Invocation, ConfigError> {
    let matches = command()
        .try_get_matches_from(argv)
        .map_err(|e| ConfigError::Usage(first_line(&e.to_string())))?;
    if matches.get_flag("help") {
        return Ok(Invocation::Help(command().render_help().to_string()));
    }
    if matches.get_flag("version") {
        return Ok(Invocation::Version);
    }
    let mut cfg = Config::with_env_defaults(env)?;
    if let Some(app) = matches.get_one::<String>("wsgi_app") {
        cfg.set("wsgi_app", app)?;
    }
    for setting in SETTINGS {
        match setting.kind {
            Kind::Value => {
                if let Some(v) = matches.get_one::<String>(setting.name) {
                    cfg.set(setting.name, v)?;
                }
            }
            Kind::List => {
                if let Some(values) = matches.get_many::<String>(setting.name) {
                    let mut first = true;
                    for v in values {
                        if first {
                            cfg.set(setting.name, v)?;
                            first = false;
                        } else {
                            cfg.append(setting.name, v)?;
                        }
                    }
                }
            }
            Kind::Flag => {
                if matches.get_flag(setting.name) {
                    // `--no-sendfile` is the only negative flag.
                    let value = if setting.name == "sendfile" { "false" } else { "true" };
                    cfg.set(setting.name, value)?;
                }
            }
        }
    }
    Ok(Invocation::Serve(Box::new(cfg)))
}

/// clap's errors run over several lines; users get the one that names the problem.
fn first_line(msg: &str) -> String {
    let line = msg.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid arguments").trim();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        std::iter::once("rgunicorn").chain(list.iter().copied()).map(String::from).collect()
    }

    fn serve(list: &[&str]) -> Config {
        match parse(&args(list), |_| None).expect("parses") {
            Invocation::Serve(cfg) => *cfg,
            other => panic!("expected Serve, got {other:?}"),
        }
    }

    #[test]
    fn repeated_bind_keeps_all() {
        let cfg = serve(&["-b", "127.0.0.1:1", "--bind", "unix:/tmp/x", "app:app"]);
        assert_eq!(cfg.bind, vec!["127.0.0.1:1", "unix:/tmp/x"]);
        assert_eq!(cfg.wsgi_app.as_deref(), Some("app:app"));
    }

    #[test]
    fn gunicorn_spellings() {
        let cfg = serve(&["--limit-request-field_size", "100", "--no-sendfile", "-w", "3", "-t", "5", "x"]);
        assert_eq!(cfg.limits.field_size, 100);
        assert!(!cfg.sendfile);
        assert_eq!((cfg.workers, cfg.timeout), (3, 5));
    }

    #[test]
    fn errors_are_one_line() {
        for bad in [&["--nope"][..], &["-w", "zero"][..], &["--workers"][..]] {
            let err = parse(&args(bad), |_| None).expect_err("must fail");
            assert!(!err.to_string().contains('\n'), "{err}");
        }
    }

    #[test]
    fn version_flag() {
        assert!(matches!(parse(&args(&["-v"]), |_| None), Ok(Invocation::Version)));
    }
}
