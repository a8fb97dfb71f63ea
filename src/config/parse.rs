//! Turning a setting's raw value — text from a command line, or a Python value from a config
//! file — into a validated [`Value`] by the setting's [`Type`].

use super::settings::{Setting, Type};
use super::value::{parse_py_int, Value};
use super::ConfigError;

/// Parse a textual value (command line, environment variable) by the setting's type.
pub fn parse_value(setting: &Setting, text: &str) -> Result<Value, ConfigError> {
    let bad = |expected: &str| ConfigError::BadValue {
        name: setting.name.to_string(),
        value: text.to_string(),
        expected: expected.to_string(),
    };
    Ok(match setting.ty {
        Type::PosInt => {
            let n = parse_py_int(text).ok_or_else(|| bad("an integer"))?;
            if n < 0 {
                return Err(bad("a non-negative integer"));
            }
            Value::Int(n)
        }
        Type::Bool => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "y" | "on" => Value::Bool(true),
            "false" | "0" | "no" | "n" | "off" => Value::Bool(false),
            _ => return Err(bad("true or false")),
        },
        Type::Str | Type::OptStr | Type::Class => Value::Str(text.to_string()),
        Type::ListStr => Value::List(vec![text.to_string()]),
        Type::CommaList => {
            Value::List(text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
        }
        Type::Choice(words) => {
            if !words.iter().any(|w| w.eq_ignore_ascii_case(text.trim())) {
                return Err(bad(&format!("one of {}", words.join(", "))));
            }
            Value::Str(text.trim().to_string())
        }
        Type::Chdir => {
            let path = std::path::Path::new(text);
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
        Type::User => match text.trim().parse::<u32>() {
            Ok(uid) => Value::Int(i64::from(uid)),
            Err(_) => match nix::unistd::User::from_name(text.trim()) {
                Ok(Some(user)) => Value::Int(i64::from(user.uid.as_raw())),
                _ => return Err(bad("a user name or uid that exists")),
            },
        },
        Type::Group => match text.trim().parse::<u32>() {
            Ok(gid) => Value::Int(i64::from(gid)),
            Err(_) => match nix::unistd::Group::from_name(text.trim()) {
                Ok(Some(group)) => Value::Int(i64::from(group.gid.as_raw())),
                _ => return Err(bad("a group name or gid that exists")),
            },
        },
        Type::Dict | Type::Hook => return Err(bad("a value set in the config file")),
    })
}

/// Check that a value from a config file has a shape the setting's type accepts, converting
/// strings the way the command line would.
pub(super) fn check_shape(setting: &Setting, value: Value) -> Result<Value, ConfigError> {
    let bad = |v: &Value, expected: &str| ConfigError::BadValue {
        name: setting.name.to_string(),
        value: v.to_string(),
        expected: expected.to_string(),
    };
    match (setting.ty, value) {
        (_, Value::Str(text)) if !matches!(setting.ty, Type::ListStr | Type::Dict | Type::Hook) => {
            parse_value(setting, &text)
        }
        (Type::ListStr, Value::Str(text)) => Ok(Value::List(vec![text])),
        (Type::PosInt, Value::Int(n)) if n >= 0 => Ok(Value::Int(n)),
        (Type::User | Type::Group, Value::Int(n)) if n >= 0 => Ok(Value::Int(n)),
        (Type::Bool, v @ Value::Bool(_)) => Ok(v),
        (Type::OptStr, Value::None) => Ok(Value::None),
        (Type::Bool, Value::None) if setting.name == "sendfile" => Ok(Value::None),
        (Type::ListStr | Type::CommaList, v @ Value::List(_)) => Ok(v),
        (Type::Dict, v @ Value::Dict(_)) => Ok(v),
        (Type::Hook | Type::Class, v @ Value::Hook(_)) => Ok(v),
        (ty, v) => Err(bad(&v, expected_for(ty))),
    }
}

fn expected_for(ty: Type) -> &'static str {
    match ty {
        Type::PosInt => "a non-negative integer",
        Type::Bool => "True or False",
        Type::Str | Type::Choice(_) | Type::Chdir => "a string",
        Type::OptStr => "a string or None",
        Type::ListStr | Type::CommaList => "a string or a list of strings",
        Type::User => "a user name or uid",
        Type::Group => "a group name or gid",
        Type::Dict => "a dict",
        Type::Hook => "a callable",
        Type::Class => "a class or a dotted path to one",
    }
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
