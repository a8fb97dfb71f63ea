//! gunicorn 27's value parsing, rule for rule: command-line text is first read as argparse
//! reads it ([`from_cli_text`], by the row's [`CliText`]), then every value — from the command
//! line, a config file, `GUNICORN_CMD_ARGS` or the environment — goes through the setting's
//! validator ([`validate`], by the row's [`Type`]), which accepts and refuses what gunicorn's does
//! and returns what gunicorn would store (so `--print-config` prints the same).

use super::addr::{check_ip_network, statsd_address};
use super::settings::{CliText, Setting, Type};
use super::value::{parse_py_int, parse_py_int_base10, py_repr, Value};
use super::ConfigError;

/// Command-line text as argparse hands it to the validator; `Err` is a usage error (exit 2).
pub fn from_cli_text(setting: &Setting, text: &str) -> Result<Value, ConfigError> {
    let int = match setting.cli_text {
        CliText::Text => return Ok(Value::Str(text.to_string())),
        CliText::Int => parse_py_int_base10(text),
        CliText::AutoInt => auto_int(text),
    };
    let flag = setting.flags.iter().rev().find(|f| f.starts_with("--")).unwrap_or(&"");
    int.map(Value::Int)
        .ok_or_else(|| ConfigError::Usage(format!("argument {flag}: invalid int value: {}", py_repr(text))))
}

/// gunicorn's `auto_int`: `0022` is octal (a `0` followed by a digit becomes `0o`), then `int(x, 0)`.
fn auto_int(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() >= 2 && bytes[0] == b'0' && bytes[1].is_ascii_digit() {
        return parse_py_int(&format!("0o{}", &text[1..]));
    }
    parse_py_int(text)
}

/// gunicorn's validator for `setting`, applied to a Python-shaped value.
pub fn validate(setting: &Setting, value: Value) -> Result<Value, ConfigError> {
    let shown = value.to_string();
    let bad = |expected: &str| ConfigError::BadValue {
        name: setting.name.to_string(),
        value: shown.clone(),
        expected: expected.to_string(),
    };
    Ok(match setting.ty {
        Type::PosInt => Value::Int(pos_int(&value).ok_or_else(|| bad("a non-negative integer"))?),
        Type::IntRange(min, max) => {
            let n = any_int(&value).ok_or_else(|| bad("an integer"))?;
            if n < min || n > max {
                return Err(bad(&format!("an integer from {min} to {max}")));
            }
            Value::Int(n)
        }
        Type::Bool => match value {
            Value::None | Value::Bool(_) => value,
            Value::Str(s) => match s.trim().to_lowercase().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => return Err(bad("true or false")),
            },
            _ => return Err(bad("True or False")),
        },
        Type::Str => string(value).ok_or_else(|| bad("a string"))?,
        Type::Class => match value {
            // A class object from a config file is kept as the file's own object (see file.rs).
            Value::Hook(_) => value,
            other => string(other).ok_or_else(|| bad("a dotted class path"))?,
        },
        Type::ListStr => Value::List(list_of_strings(value).ok_or_else(|| bad("a string or a list of strings"))?),
        Type::FilesOrPatterns => {
            let entries = list_of_strings(value).ok_or_else(|| bad("a list of files or glob patterns"))?;
            if let Some(missing) =
                entries.iter().find(|e| !e.contains(['*', '?', '[']) && !std::path::Path::new(e).exists())
            {
                return Err(bad(&format!("File {missing} does not exists.")));
            }
            Value::List(entries)
        }
        Type::CommaList => Value::List(comma_list(value).ok_or_else(|| bad("a comma-separated string"))?),
        Type::AddrList => {
            let items = comma_list(value).ok_or_else(|| bad("a comma-separated string"))?;
            for item in items.iter().filter(|i| i.as_str() != "*") {
                check_ip_network(item).map_err(|why| bad(&why))?;
            }
            Value::List(items)
        }
        Type::Choice(words) => match &value {
            Value::Str(s) if words.contains(&s.as_str()) => value,
            _ => return Err(bad(&format!("one of {}", words.join(", ")))),
        },
        Type::Keyword(words, none) => match value {
            Value::None => none.map_or(Value::None, |w| Value::Str(w.to_string())),
            Value::Str(s) => {
                let word = s.trim().to_lowercase();
                if !words.contains(&word.as_str()) {
                    return Err(bad(&format!("one of {}", words.join(", "))));
                }
                Value::Str(word)
            }
            _ => return Err(bad(&format!("one of {}", words.join(", ")))),
        },
        Type::ProxyProtocol => Value::Str(
            match value {
                Value::None | Value::Bool(false) => "off",
                Value::Bool(true) => "auto",
                Value::Str(s) => match s.trim().to_lowercase().as_str() {
                    "false" | "off" | "0" | "none" => "off",
                    "true" | "auto" | "1" => "auto",
                    "v1" => "v1",
                    "v2" => "v2",
                    _ => return Err(bad("off, v1, v2 or auto")),
                },
                _ => return Err(bad("off, v1, v2 or auto")),
            }
            .to_string(),
        ),
        Type::HttpProtocols => {
            let text = match value {
                Value::None => String::new(),
                Value::Str(s) => s,
                _ => return Err(bad("a comma-separated string of h1, h2")),
            };
            let protocols: Vec<String> =
                text.split(',').map(|p| p.trim().to_lowercase()).filter(|p| !p.is_empty()).collect();
            if let Some(unknown) = protocols.iter().find(|p| !matches!(p.as_str(), "h1" | "h2")) {
                return Err(bad(&format!("unknown protocol {unknown:?}; valid: h1, h2")));
            }
            if protocols.iter().enumerate().any(|(i, p)| protocols[..i].contains(p)) {
                return Err(bad("no protocol twice"));
            }
            Value::List(if protocols.is_empty() { vec!["h1".to_string()] } else { protocols })
        }
        Type::Http2Cleartext => Value::Str(match value {
            Value::None | Value::Bool(false) => "off".to_string(),
            Value::Bool(true) => "prior-knowledge".to_string(),
            Value::Str(s) => {
                let word = s.trim().to_lowercase();
                if !matches!(word.as_str(), "off" | "prior-knowledge" | "upgrade" | "both") {
                    return Err(bad("off, prior-knowledge, upgrade or both"));
                }
                word
            }
            _ => return Err(bad("off, prior-knowledge, upgrade or both")),
        }),
        Type::SslVersion => value,
        Type::StatsdAddress => match string(value).ok_or_else(|| bad("a string"))? {
            Value::None => Value::None,
            Value::Str(text) => statsd_address(&text).ok_or_else(|| bad("HOST:PORT or unix://PATH"))?,
            other => other,
        },
        Type::Chdir => {
            let Value::Str(text) = string(value).ok_or_else(|| bad("a string"))? else {
                return Err(bad("a directory"));
            };
            let path = std::path::Path::new(&text);
            let abs = if path.is_absolute() {
                path.to_path_buf()
            } else {
                std::env::current_dir().unwrap_or_default().join(path)
            };
            let abs = normalize(&abs);
            if !abs.is_dir() {
                return Err(bad("an existing directory"));
            }
            Value::Str(abs.display().to_string())
        }
        Type::User => Value::Int(account_id(&value, true).ok_or_else(|| bad("a user name or uid that exists"))?),
        Type::Group => Value::Int(account_id(&value, false).ok_or_else(|| bad("a group name or gid that exists"))?),
        Type::Dict => match value {
            Value::Dict(_) => value,
            _ => return Err(bad("a dict")),
        },
        Type::Hook(_) => match value {
            Value::Hook(_) => value,
            _ => return Err(bad("a callable")),
        },
    })
}

/// `validate_pos_int`: an int (True is 1) or a string read as `int(text, 0)`; never negative.
fn pos_int(value: &Value) -> Option<i64> {
    any_int(value).filter(|n| *n >= 0)
}

fn any_int(value: &Value) -> Option<i64> {
    match value {
        Value::Int(n) => Some(*n),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::Str(s) => parse_py_int(s),
        _ => None,
    }
}

/// `validate_string`: None stays None, a string is stripped, anything else is refused.
fn string(value: Value) -> Option<Value> {
    match value {
        Value::None => Some(Value::None),
        Value::Str(s) => Some(Value::Str(py_strip(&s).to_string())),
        _ => None,
    }
}

/// `validate_list_string`: empty or None is `[]`, a string is one item, every item is stripped.
fn list_of_strings(value: Value) -> Option<Vec<String>> {
    match value {
        Value::None => Some(Vec::new()),
        Value::Str(s) if s.is_empty() => Some(Vec::new()),
        Value::Str(s) => Some(vec![py_strip(&s).to_string()]),
        Value::List(items) => Some(items.iter().map(|i| py_strip(i).to_string()).collect()),
        _ => None,
    }
}

/// `validate_string_to_list`: split on commas, dropping empty pieces before stripping (so
/// `"a, ,b"` keeps an empty middle entry, as gunicorn does).
fn comma_list(value: Value) -> Option<Vec<String>> {
    match string(value)? {
        Value::Str(s) if !s.is_empty() => {
            Some(s.split(',').filter(|p| !p.is_empty()).map(|p| py_strip(p).to_string()).collect())
        }
        _ => Some(Vec::new()),
    }
}

/// `validate_user`/`validate_group`: an int, a string of digits, or a name that exists.
fn account_id(value: &Value, user: bool) -> Option<i64> {
    match value {
        Value::Int(n) => Some(*n),
        Value::Str(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) => s.parse().ok(),
        Value::Str(s) if user => nix::unistd::User::from_name(s).ok().flatten().map(|u| i64::from(u.uid.as_raw())),
        Value::Str(s) => nix::unistd::Group::from_name(s).ok().flatten().map(|g| i64::from(g.gid.as_raw())),
        Value::None if user => Some(i64::from(nix::unistd::geteuid().as_raw())),
        Value::None => Some(i64::from(nix::unistd::getegid().as_raw())),
        _ => None,
    }
}

/// Python's `str.strip()` (whitespace as Python counts it, for the ASCII range that matters).
fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
}

/// `a/./b/../c` → `a/c` without touching the file system (as `os.path.normpath`).
fn normalize(path: &std::path::Path) -> std::path::PathBuf {
    let mut out = std::path::PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::settings::find;

    fn cli(name: &str, text: &str) -> Result<Value, ConfigError> {
        let s = find(name).expect("known setting");
        validate(s, from_cli_text(s, text)?)
    }

    #[test]
    fn integers_read_as_argparse_then_validated() {
        assert_eq!(cli("workers", "010"), Ok(Value::Int(10)));
        assert!(matches!(cli("workers", "0x10"), Err(ConfigError::Usage(_))));
        assert!(matches!(cli("workers", "-1"), Err(ConfigError::BadValue { .. })));
        assert_eq!(cli("umask", "0022"), Ok(Value::Int(0o22)));
        assert_eq!(cli("umask", "0o22"), Ok(Value::Int(0o22)));
        assert_eq!(cli("umask", "18"), Ok(Value::Int(18)));
        assert!(cli("umask", "09").is_err());
        assert_eq!(cli("cert_reqs", "0x2"), Ok(Value::Int(2)));
        assert!(cli("cert_reqs", "02").is_err());
    }

    #[test]
    fn strings_are_stripped_and_lists_split_as_gunicorn() {
        assert_eq!(cli("proc_name", "  web "), Ok(Value::Str("web".into())));
        assert_eq!(cli("forwarder_headers", "A, ,B"), Ok(Value::List(vec!["A".into(), "".into(), "B".into()])));
        assert!(cli("forwarded_allow_ips", "10.0.0.1/24").is_err());
        assert!(cli("forwarded_allow_ips", "10.0.0.0/24,*").is_ok());
        assert_eq!(cli("header_map", " REFUSE"), Ok(Value::Str("refuse".into())));
        assert!(cli("reload_engine", "Poll").is_err());
        assert_eq!(cli("proxy_protocol", "TRUE"), Ok(Value::Str("auto".into())));
        assert_eq!(cli("http_protocols", "H2, h1"), Ok(Value::List(vec!["h2".into(), "h1".into()])));
        assert!(cli("http_protocols", "h1,h1").is_err());
        assert!(cli("http2_max_frame_size", "100").is_err());
    }

    #[test]
    fn config_file_shapes() {
        let s = find("preload_app").expect("known");
        assert_eq!(validate(s, Value::Str("True".into())), Ok(Value::Bool(true)));
        assert!(validate(s, Value::Str("yes".into())).is_err());
        assert!(validate(s, Value::Int(1)).is_err());
        assert_eq!(validate(s, Value::None), Ok(Value::None));
        let w = find("workers").expect("known");
        assert_eq!(validate(w, Value::Bool(true)), Ok(Value::Int(1)));
        assert_eq!(validate(w, Value::Str("0x4".into())), Ok(Value::Int(4)));
        let ips = find("forwarded_allow_ips").expect("known");
        assert!(validate(ips, Value::List(vec!["10.0.0.1".into()])).is_err());
    }
}
