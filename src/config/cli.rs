//! The command line, generated from the settings table. Parsing only collects what was given;
//! [`super::sources`] applies it in gunicorn's order of precedence.

use clap::{Arg, ArgAction, ArgMatches, Command};

use super::settings::{Kind, Setting, SETTINGS};
use super::value::Value;
use super::{Config, ConfigError};

/// What one command line asks for.
#[derive(Debug, Default)]
pub struct CliArgs {
    /// `-h/--help`.
    pub help: bool,
    /// `-v/--version`.
    pub version: bool,
    /// `--settings-reference` (hidden): print docs/settings.md, generated from the settings table.
    pub settings_reference: bool,
    /// The positional APP_MODULE.
    pub app_module: Option<String>,
    /// Settings given, in table order, as given.
    pub settings: Vec<(&'static Setting, Given)>,
}

/// A value as given on a command line.
#[derive(Debug, Clone)]
pub enum Given {
    /// `--flag VALUE`.
    Text(String),
    /// `--flag V1 --flag V2`.
    List(Vec<String>),
    /// `--flag` (true) or `--no-flag` (false).
    Flag(bool),
}

impl CliArgs {
    /// The value given for `name`, if any.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.settings.iter().find(|(s, _)| s.name == name).and_then(|(_, g)| match g {
            Given::Text(t) => Some(t.as_str()),
            _ => None,
        })
    }

    /// Apply every given setting to `cfg`.
    pub fn apply(&self, cfg: &mut Config) -> Result<(), ConfigError> {
        for (setting, given) in &self.settings {
            match given {
                Given::Text(text) => cfg.set(setting.name, text)?,
                Given::List(items) => cfg.set_value(setting.name, Value::List(items.clone()))?,
                Given::Flag(b) => cfg.set_value(setting.name, Value::Bool(*b))?,
            }
        }
        Ok(())
    }
}

/// The clap command with one argument per settings row.
pub fn command() -> Command {
    let mut cmd = Command::new("rgunicorn")
        .about("A WSGI HTTP server for Python, written in Rust, compatible with gunicorn.")
        .override_usage("rgunicorn [OPTIONS] [APP_MODULE]")
        .disable_version_flag(true)
        .disable_help_flag(true)
        // As argparse: a repeated option's last value wins (GUNICORN_CMD_ARGS scripts rely on it),
        // and an unambiguous prefix of a long option is that option (`--work 3`).
        .args_override_self(true)
        .infer_long_args(true)
        .arg(Arg::new("help").short('h').long("help").action(ArgAction::SetTrue).help("Show this help and exit."))
        .arg(
            Arg::new("version")
                .short('v')
                .long("version")
                .action(ArgAction::SetTrue)
                .help("Show the version and exit."),
        )
        .arg(Arg::new("wsgi_app").value_name("APP_MODULE").help("The WSGI application: MODULE[:CALLABLE]."))
        .arg(Arg::new("settings_reference").long("settings-reference").action(ArgAction::SetTrue).hide(true));
    for setting in SETTINGS.iter().filter(|s| s.kind != Kind::FileOnly) {
        let mut arg = Arg::new(setting.name).help(setting.help).help_heading(setting.section);
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
            Kind::Value => arg.action(ArgAction::Set).value_name(meta(setting)).allow_hyphen_values(true),
            Kind::OptionalValue(alone) => {
                arg.action(ArgAction::Set).value_name(meta(setting)).num_args(0..=1).default_missing_value(alone)
            }
            Kind::List => arg.action(ArgAction::Append).value_name(meta(setting)),
            Kind::Flag | Kind::FalseFlag => arg.action(ArgAction::SetTrue),
            Kind::FileOnly => arg,
        };
        cmd = cmd.arg(arg);
    }
    cmd
}

fn meta(setting: &Setting) -> String {
    setting.name.to_ascii_uppercase()
}

/// Parse `argv` (program name first).
pub fn parse_args(argv: &[String]) -> Result<CliArgs, ConfigError> {
    let matches = command().try_get_matches_from(argv).map_err(|e| ConfigError::Usage(first_line(&e.to_string())))?;
    Ok(collect(&matches))
}

fn collect(matches: &ArgMatches) -> CliArgs {
    let mut args = CliArgs {
        help: matches.get_flag("help"),
        version: matches.get_flag("version"),
        settings_reference: matches.get_flag("settings_reference"),
        app_module: matches.get_one::<String>("wsgi_app").cloned(),
        settings: Vec::new(),
    };
    for setting in SETTINGS.iter().filter(|s| s.kind != Kind::FileOnly) {
        let given = match setting.kind {
            Kind::Value | Kind::OptionalValue(_) => {
                matches.get_one::<String>(setting.name).map(|v| Given::Text(v.clone()))
            }
            Kind::List => matches.get_many::<String>(setting.name).map(|vs| Given::List(vs.cloned().collect())),
            Kind::Flag => matches.get_flag(setting.name).then_some(Given::Flag(true)),
            Kind::FalseFlag => matches.get_flag(setting.name).then_some(Given::Flag(false)),
            Kind::FileOnly => None,
        };
        if let Some(given) = given {
            args.settings.push((setting, given));
        }
    }
    args
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

    #[test]
    fn repeated_bind_keeps_all() {
        let parsed = parse_args(&args(&["-b", "127.0.0.1:1", "--bind", "unix:/tmp/x", "app:app"])).expect("parses");
        assert_eq!(parsed.app_module.as_deref(), Some("app:app"));
        let (_, given) = parsed.settings.iter().find(|(s, _)| s.name == "bind").expect("bind given");
        assert!(matches!(given, Given::List(v) if v == &["127.0.0.1:1", "unix:/tmp/x"]));
    }

    #[test]
    fn gunicorn_spellings() {
        let parsed =
            parse_args(&args(&["--limit-request-field_size", "100", "--no-sendfile", "-w", "3", "x"])).expect("parses");
        let names: Vec<_> = parsed.settings.iter().map(|(s, _)| s.name).collect();
        assert_eq!(names, vec!["limit_request_field_size", "sendfile", "workers"]);
    }

    #[test]
    fn errors_are_one_line() {
        for bad in [&["--nope"][..], &["--workers"][..]] {
            let err = parse_args(&args(bad)).expect_err("must fail");
            assert!(!err.to_string().contains('\n'), "{err}");
            assert!(!err.to_string().starts_with("error:"), "{err}");
        }
    }

    #[test]
    fn last_repeated_value_wins() {
        let parsed = parse_args(&args(&["-w", "2", "-w", "5", "--preload", "--preload", "x"])).expect("parses");
        assert_eq!(parsed.text("workers"), Some("5"));
    }

    #[test]
    fn proxy_protocol_alone_is_auto() {
        let parsed = parse_args(&args(&["--proxy-protocol", "--workers", "2"])).expect("parses");
        assert_eq!(parsed.text("proxy_protocol"), Some("auto"));
        let parsed = parse_args(&args(&["--proxy-protocol", "v2", "x"])).expect("parses");
        assert_eq!(parsed.text("proxy_protocol"), Some("v2"));
    }

    #[test]
    fn long_option_prefixes_as_argparse() {
        assert_eq!(parse_args(&args(&["--grace", "3", "x"])).expect("parses").text("graceful_timeout"), Some("3"));
        assert!(parse_args(&args(&["--work", "3", "x"])).is_err(), "ambiguous, as argparse says");
    }

    #[test]
    fn version_flag() {
        assert!(parse_args(&args(&["-v"])).expect("parses").version);
    }
}
