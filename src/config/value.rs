//! A setting's value, printed the way Python's `str()` prints it, as gunicorn's `--print-config` does.

use std::fmt;

/// A setting's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// Python's None.
    None,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
    /// A list of strings.
    List(Vec<String>),
    /// A dict, its entries already rendered as Python literals (`'key'`, `'value'` or nested).
    Dict(Vec<(String, String)>),
    /// A callable, shown as gunicorn shows it: `<qualname()>`.
    Hook(String),
    /// A tuple (the statsd address, `('localhost', 8125)`).
    Tuple(Vec<Value>),
}

impl Value {
    /// Python's `repr()` of the value (strings quoted), for items inside containers.
    pub fn repr(&self) -> String {
        match self {
            Value::Str(s) => py_repr(s),
            other => other.to_string(),
        }
    }

    /// A dict of strings.
    pub fn str_dict(pairs: &[(&str, &str)]) -> Value {
        Value::Dict(pairs.iter().map(|(k, v)| (py_repr(k), py_repr(v))).collect())
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::None => f.write_str("None"),
            Value::Bool(true) => f.write_str("True"),
            Value::Bool(false) => f.write_str("False"),
            Value::Int(n) => write!(f, "{n}"),
            Value::Str(s) => f.write_str(s),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&py_repr(item))?;
                }
                f.write_str("]")
            }
            Value::Dict(items) => {
                f.write_str("{")?;
                for (i, (k, v)) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            Value::Hook(qualname) => write!(f, "<{qualname}()>"),
            Value::Tuple(items) => {
                let inner: Vec<String> = items.iter().map(Value::repr).collect();
                let comma = if items.len() == 1 { "," } else { "" };
                write!(f, "({}{comma})", inner.join(", "))
            }
        }
    }
}

/// Python's `repr()` of a str: single quotes unless the text has a single quote and no double one.
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `int(text, 0)`: decimal without leading zeros, or `0x`, `0o`, `0b` prefixes; `_` allowed
/// between digits. Returns None for anything else.
pub fn parse_py_int(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let lower = t.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else {
        if lower.len() > 1 && lower.starts_with('0') && lower.chars().any(|c| c != '0' && c != '_') {
            return None;
        }
        (10, lower.as_str())
    };
    // Python allows one underscore right after a radix prefix (0x_1F), never before a decimal.
    let digits = if radix == 10 { digits } else { digits.strip_prefix('_').unwrap_or(digits) };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    let n = i64::from_str_radix(&digits.replace('_', ""), radix).ok()?;
    Some(if neg { -n } else { n })
}

/// Python's `int(text)` (argparse `type=int`): base 10, leading zeros allowed, `_` between digits.
pub fn parse_py_int_base10(text: &str) -> Option<i64> {
    let t = text.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    t.replace('_', "").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_python_str() {
        let cases = [
            (Value::None, "None"),
            (Value::Bool(true), "True"),
            (Value::Int(2048), "2048"),
            (Value::Str("-".into()), "-"),
            (Value::List(vec!["127.0.0.1:8000".into()]), "['127.0.0.1:8000']"),
            (Value::List(vec![]), "[]"),
            (Value::List(vec!["it's".into()]), "[\"it's\"]"),
            (Value::str_dict(&[("X-A", "on")]), "{'X-A': 'on'}"),
            (Value::Hook("OnStarting.on_starting".into()), "<OnStarting.on_starting()>"),
        ];
        for (value, want) in cases {
            assert_eq!(value.to_string(), want);
        }
    }

    #[test]
    fn ints_parse_like_python_base_zero() {
        for (text, want) in
            [("10", Some(10)), ("0o22", Some(18)), ("0x1F", Some(31)), ("0", Some(0)), ("1_000", Some(1000))]
        {
            assert_eq!(parse_py_int(text), want, "{text}");
        }
        for bad in ["022", "", "x", "1.5", "0x", "_1"] {
            assert_eq!(parse_py_int(bad), None, "{bad}");
        }
        for (text, want) in [("022", Some(22)), (" 7 ", Some(7)), ("-3", Some(-3)), ("1_0", Some(10)), ("0x1", None)] {
            assert_eq!(parse_py_int_base10(text), want, "{text}");
        }
    }
}
