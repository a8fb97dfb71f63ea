//! `[server:main]` with `use = egg:rgunicorn#main` (what `pserve development.ini` runs): the
//! section's keys are settings, as in gunicorn's `pasterapp.serve`. They become an ordinary
//! command line, so that a HUP re-reads the same settings in the same order of precedence
//! (the config file named by `config`, or `./gunicorn.conf.py`, then the section's keys).

use super::settings::{self, Kind};
use super::ConfigError;

/// The command line equivalent to `serve(app, global_conf, **local_conf)`: `ini` is
/// `global_conf['__file__']`, `local` the section's keys in order.
pub fn server_argv(ini: &str, local: &[(String, String)]) -> Result<Vec<String>, ConfigError> {
    let mut argv = vec!["rgunicorn".to_string(), "--paste".to_string(), ini.to_string()];
    let mut host = None;
    let mut port = None;
    let mut rest = Vec::new();
    for (key, value) in local {
        match key.to_ascii_lowercase().as_str() {
            "config" => argv.extend(["-c".to_string(), value.clone()]),
            "host" => host = Some(value.clone()),
            "port" => port = Some(value.clone()),
            name => rest.push((name.to_string(), value.clone())),
        }
    }
    // gunicorn: host and port make one address; host alone may list several, comma-separated.
    match (host.filter(|h| !h.is_empty()), port.filter(|p| !p.is_empty())) {
        (Some(host), Some(port)) => rest.push(("bind".into(), format!("{host}:{port}"))),
        (Some(host), None) => rest.extend(host.split(',').map(|h| ("bind".to_string(), h.to_string()))),
        _ => {}
    }
    for (name, value) in rest {
        let setting = settings::find(&name).ok_or_else(|| ConfigError::UnknownSetting(name.clone()))?;
        let Some(flag) = setting.flags.iter().find(|f| f.starts_with("--")).or(setting.flags.first()) else {
            return Err(ConfigError::Usage(format!(
                "Setting '{name}' cannot be given in [server:main]: set it in the config file (config = PATH)"
            )));
        };
        match setting.kind {
            Kind::Value | Kind::OptionalValue(_) | Kind::List => argv.extend([format!("{flag}={value}")]),
            Kind::Flag | Kind::FalseFlag => {
                let on = truth(&value).ok_or_else(|| ConfigError::BadValue {
                    name: name.clone(),
                    value: value.clone(),
                    expected: "true or false".into(),
                })?;
                // A FalseFlag (--no-sendfile) is given to turn the setting off.
                if on == (setting.kind == Kind::Flag) {
                    argv.push(flag.to_string());
                }
            }
            // No flag, refused above.
            Kind::FileOnly => {}
        }
    }
    Ok(argv)
}

/// gunicorn's `validate_bool` for text.
fn truth(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "on" => Some(true),
        "false" | "0" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn host_port_and_settings_become_flags() {
        let argv = server_argv(
            "/srv/dev.ini",
            &kv(&[("host", "127.0.0.1"), ("port", "5000"), ("workers", "3"), ("preload_app", "true")]),
        )
        .expect("valid");
        assert_eq!(argv, ["rgunicorn", "--paste", "/srv/dev.ini", "--workers=3", "--preload", "--bind=127.0.0.1:5000"]);
    }

    #[test]
    fn host_alone_may_list_addresses_and_config_names_the_file() {
        let argv = server_argv("/x.ini", &kv(&[("config", "g.py"), ("host", "unix:/a,unix:/b")])).expect("valid");
        assert_eq!(argv, ["rgunicorn", "--paste", "/x.ini", "-c", "g.py", "--bind=unix:/a", "--bind=unix:/b"]);
    }

    #[test]
    fn unknown_and_file_only_settings_are_refused() {
        assert!(matches!(server_argv("/x.ini", &kv(&[("nope", "1")])), Err(ConfigError::UnknownSetting(_))));
        assert!(server_argv("/x.ini", &kv(&[("on_starting", "x")])).is_err());
        assert!(server_argv("/x.ini", &kv(&[("daemon", "maybe")])).is_err());
    }
}
