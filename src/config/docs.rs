//! `docs/settings.md`, generated from the one settings table (`rgunicorn --settings-reference`),
//! so the reference cannot drift from what the server accepts.

use super::settings::{DefaultValue, Kind, Setting, Support, SETTINGS};
use super::value::Value;

/// The whole settings reference as Markdown, without a final newline.
pub fn settings_reference() -> String {
    let gunicorns = SETTINGS.iter().filter(|s| s.is_gunicorns()).count();
    let no_effect = SETTINGS.iter().filter(|s| s.support == Support::NoEffect).count();
    let mut out = String::new();
    out.push_str("# Settings reference\n\n");
    out.push_str(&format!(
        "Every setting rgunicorn accepts: gunicorn 27's {gunicorns} settings, under gunicorn's names (config-file \
         keys), flags and defaults, and rgunicorn's own. Values are validated by gunicorn's rules and \
         `--print-config` prints them as gunicorn does. {no_effect} settings are accepted but have no effect yet: \
         a value other than the default is named in one warning line at start.\n\n"
    ));
    out.push_str(
        "Generated from the settings table in `src/config/settings.rs` by \
         `rgunicorn --settings-reference > docs/settings.md`; `tests/test_config_docs.py` fails when the two \
         disagree.\n",
    );
    let mut sections: Vec<&str> = Vec::new();
    for s in SETTINGS {
        if !sections.contains(&s.section) {
            sections.push(s.section);
        }
    }
    for section in sections {
        out.push_str(&format!("\n## {section}\n\n"));
        out.push_str("| Setting | Flags | Default | What rgunicorn does | Differs from gunicorn |\n");
        out.push_str("|---|---|---|---|---|\n");
        for s in SETTINGS.iter().filter(|s| s.section == section) {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                s.name,
                flags(s),
                default(s),
                cell(&does(s)),
                cell(if s.differs.is_empty() { "-" } else { s.differs })
            ));
        }
    }
    out.truncate(out.trim_end().len());
    out
}

fn flags(s: &Setting) -> String {
    if s.flags.is_empty() {
        return "config file only".to_string();
    }
    let meta = s.name.to_ascii_uppercase();
    let shown: Vec<String> = s
        .flags
        .iter()
        .map(|f| match s.kind {
            Kind::Value | Kind::List => format!("`{f} {meta}`"),
            Kind::OptionalValue(_) => format!("`{f} [{meta}]`"),
            _ => format!("`{f}`"),
        })
        .collect();
    shown.join(", ")
}

fn default(s: &Setting) -> String {
    let value = match s.default {
        DefaultValue::Dynamic(how) => return cell(how),
        DefaultValue::None => Value::None,
        DefaultValue::Bool(b) => Value::Bool(b),
        DefaultValue::Int(n) => Value::Int(n),
        DefaultValue::Str("") => return "`''`".to_string(),
        DefaultValue::Str(t) => Value::Str(t.to_string()),
        DefaultValue::List(items) => Value::List(items.iter().map(|i| i.to_string()).collect()),
        DefaultValue::Dict(pairs) => Value::str_dict(pairs),
        DefaultValue::Hook(q) => Value::Hook(q.to_string()),
    };
    format!("`{}`", value.to_string().replace('|', "\\|"))
}

fn does(s: &Setting) -> String {
    match s.support {
        Support::Works => s.help.to_string(),
        Support::NoEffect => format!("**No effect yet** (a warning at start says so). {}", s.help),
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_has_one_row() {
        let doc = settings_reference();
        for s in SETTINGS {
            assert_eq!(doc.matches(&format!("\n| `{}` |", s.name)).count(), 1, "{}", s.name);
        }
    }
}
