//! `--ciphers`: an OpenSSL cipher string mapped onto the suites rustls implements.
//!
//! gunicorn hands the string to `SSLContext.set_ciphers`, so users write OpenSSL syntax: names
//! (`ECDHE-RSA-AES128-GCM-SHA256`), aliases joined by `+` (`ECDHE+AESGCM`), exclusions (`!aNULL`,
//! `-CHACHA20`) and keywords (`HIGH`, `DEFAULT`), separated by `:`, `,` or spaces. We evaluate the
//! same grammar over rustls's nine suites. An alias OpenSSL knows but that matches none of them
//! (`!RC4`, `!aNULL`) is fine to exclude; asking for one, or for a name nobody knows, is an error
//! that names it, rather than a server that quietly negotiates something else.
//!
//! As with OpenSSL, the string governs TLS 1.2 only, unless it names TLS 1.3 suites: then those
//! are the TLS 1.3 suites offered (Python's `set_ciphers` never touches TLS 1.3).

use rustls::crypto::ring::cipher_suite as cs;
use rustls::SupportedCipherSuite;

/// One suite with its OpenSSL name and the aliases that select it.
struct Suite {
    suite: SupportedCipherSuite,
    openssl: &'static str,
    tls13: bool,
    aliases: &'static [&'static str],
}

fn suites() -> [Suite; 9] {
    [
        Suite { suite: cs::TLS13_AES_256_GCM_SHA384, openssl: "TLS_AES_256_GCM_SHA384", tls13: true, aliases: &[] },
        Suite { suite: cs::TLS13_AES_128_GCM_SHA256, openssl: "TLS_AES_128_GCM_SHA256", tls13: true, aliases: &[] },
        Suite {
            suite: cs::TLS13_CHACHA20_POLY1305_SHA256,
            openssl: "TLS_CHACHA20_POLY1305_SHA256",
            tls13: true,
            aliases: &[],
        },
        Suite {
            suite: cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            openssl: "ECDHE-ECDSA-AES256-GCM-SHA384",
            tls13: false,
            aliases: &["ECDHE", "EECDH", "kECDHE", "kEECDH", "ECDSA", "aECDSA", "AESGCM", "AES", "AES256", "SHA384"],
        },
        Suite {
            suite: cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            openssl: "ECDHE-ECDSA-AES128-GCM-SHA256",
            tls13: false,
            aliases: &["ECDHE", "EECDH", "kECDHE", "kEECDH", "ECDSA", "aECDSA", "AESGCM", "AES", "AES128", "SHA256"],
        },
        Suite {
            suite: cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            openssl: "ECDHE-ECDSA-CHACHA20-POLY1305",
            tls13: false,
            aliases: &["ECDHE", "EECDH", "kECDHE", "kEECDH", "ECDSA", "aECDSA", "CHACHA20", "SHA256"],
        },
        Suite {
            suite: cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            openssl: "ECDHE-RSA-AES256-GCM-SHA384",
            tls13: false,
            aliases: &["ECDHE", "EECDH", "kECDHE", "kEECDH", "RSA", "aRSA", "AESGCM", "AES", "AES256", "SHA384"],
        },
        Suite {
            suite: cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            openssl: "ECDHE-RSA-AES128-GCM-SHA256",
            tls13: false,
            aliases: &["ECDHE", "EECDH", "kECDHE", "kEECDH", "RSA", "aRSA", "AESGCM", "AES", "AES128", "SHA256"],
        },
        Suite {
            suite: cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
            openssl: "ECDHE-RSA-CHACHA20-POLY1305",
            tls13: false,
            aliases: &["ECDHE", "EECDH", "kECDHE", "kEECDH", "RSA", "aRSA", "CHACHA20", "SHA256"],
        },
    ]
}

/// Aliases every TLS 1.2 suite here carries.
const TLS12_ALIASES: &[&str] = &["TLSv1.2", "HIGH", "ALL", "DEFAULT", "SSLv3", "TLSv1", "AEAD", "ECDH", "kECDH"];

/// Names and aliases OpenSSL knows that select nothing rustls offers: excluding them is a no-op,
/// asking for them is an error.
const OPENSSL_ONLY: &[&str] = &[
    "aNULL",
    "eNULL",
    "NULL",
    "COMPLEMENTOFALL",
    "LOW",
    "MEDIUM",
    "EXPORT",
    "EXP",
    "RC4",
    "RC2",
    "DES",
    "3DES",
    "IDEA",
    "SEED",
    "MD5",
    "SHA1",
    "SHA",
    "CAMELLIA",
    "CAMELLIA128",
    "CAMELLIA256",
    "ARIA",
    "ARIA128",
    "ARIA256",
    "ARIAGCM",
    "AESCCM",
    "AESCCM8",
    "AES128CCM",
    "AES256CCM",
    "CBC",
    "PSK",
    "aPSK",
    "kPSK",
    "kECDHEPSK",
    "kDHEPSK",
    "kRSAPSK",
    "SRP",
    "kSRP",
    "aSRP",
    "DSS",
    "aDSS",
    "DSA",
    "DH",
    "DHE",
    "EDH",
    "kDHE",
    "kEDH",
    "ADH",
    "AECDH",
    "kRSA",
    "GOST",
    "aGOST",
    "kGOST",
    "SUITEB128",
    "SUITEB128ONLY",
    "SUITEB192",
    "CHACHA20-POLY1305",
    "AES-128-CBC",
    "aECDH",
    "FIPS",
    "kDH",
    "kDHr",
    "kDHd",
    "aDH",
    "kECDHr",
    "kECDHe",
    "ECCPSK",
    "DHEPSK",
    "RSAPSK",
];

fn known_to_openssl_only(name: &str) -> bool {
    OPENSSL_ONLY.iter().any(|n| n.eq_ignore_ascii_case(name)) || looks_like_a_suite_name(name)
}

/// Parts OpenSSL suite names are made of (`DHE-RSA-AES128-SHA`, `ECDHE-ECDSA-AES256-CCM8`).
const NAME_PARTS: &[&str] = &[
    "ECDHE",
    "DHE",
    "EDH",
    "ADH",
    "AECDH",
    "RSA",
    "ECDSA",
    "DSS",
    "PSK",
    "SRP",
    "AES",
    "AES128",
    "AES256",
    "GCM",
    "CCM",
    "CCM8",
    "CBC",
    "CBC3",
    "SHA",
    "SHA256",
    "SHA384",
    "CHACHA20",
    "POLY1305",
    "CAMELLIA128",
    "CAMELLIA256",
    "ARIA128",
    "ARIA256",
    "DES",
    "RC4",
    "MD5",
    "NULL",
    "EXP",
    "SEED",
    "IDEA",
    "3DES",
    "GOST2001",
    "GOST89",
    "GOST94",
];

/// A well-formed OpenSSL (`A-B-C`) or IANA (`TLS_X_WITH_Y`) suite name: one rustls may lack,
/// but not a typo.
fn looks_like_a_suite_name(name: &str) -> bool {
    if let Some(rest) = name.strip_prefix("TLS_") {
        return rest.contains("_WITH_") || rest.ends_with("_SHA256") || rest.ends_with("_SHA384");
    }
    name.contains('-') && name.split('-').all(|part| NAME_PARTS.contains(&part))
}

/// Whether `suite` matches one `+`-joined term. TLS 1.3 suites match only by name: OpenSSL's
/// aliases select TLS 1.2 suites.
fn matches(suite: &Suite, term: &str) -> bool {
    term.eq_ignore_ascii_case(suite.openssl)
        || term.eq_ignore_ascii_case(suite.suite.suite().as_str().unwrap_or_default())
        || (!suite.tls13 && (suite.aliases.contains(&term) || TLS12_ALIASES.contains(&term)))
}

/// The suites `spec` selects, in preference order.
pub fn select(spec: &str) -> Result<Vec<SupportedCipherSuite>, String> {
    let all = suites();
    let mut chosen: Vec<usize> = Vec::new();
    let mut banned: Vec<usize> = Vec::new();
    let mut names_tls13 = false;
    for token in spec.split([':', ',', ' ']).map(str::trim).filter(|t| !t.is_empty()) {
        if token.starts_with('@') {
            continue; // @STRENGTH, @SECLEVEL=n: ordering and policy knobs with nothing to do here
        }
        let (op, body) = match token.as_bytes()[0] {
            b'!' | b'-' | b'+' => (token.as_bytes()[0], &token[1..]),
            _ => (b' ', token),
        };
        let terms: Vec<&str> = body.split('+').collect();
        let hit: Vec<usize> = (0..all.len()).filter(|&i| terms.iter().all(|term| matches(&all[i], term))).collect();
        if hit.is_empty() && !terms.iter().all(|t| known_to_openssl_only(t) || is_alias(&all, t)) {
            return Err(format!("unknown cipher name '{token}' in --ciphers"));
        }
        match op {
            b'!' => banned.extend(&hit),
            b'-' => chosen.retain(|i| !hit.contains(i)),
            b'+' => {
                // Move the matches to the end, keeping their order.
                let moved: Vec<usize> = chosen.iter().copied().filter(|i| hit.contains(i)).collect();
                chosen.retain(|i| !hit.contains(i));
                chosen.extend(moved);
            }
            _ => {
                if hit.is_empty() {
                    return Err(format!(
                        "cipher '{token}' in --ciphers is not supported by rustls; supported: {}",
                        all.iter().map(|s| s.openssl).collect::<Vec<_>>().join(", ")
                    ));
                }
                names_tls13 |= hit.iter().any(|&i| all[i].tls13);
                for i in hit {
                    if !chosen.contains(&i) {
                        chosen.push(i);
                    }
                }
            }
        }
    }
    chosen.retain(|i| !banned.contains(i));
    if !names_tls13 {
        // OpenSSL's cipher string does not govern TLS 1.3 suites: all of them stay offered.
        chosen.retain(|&i| !all[i].tls13);
        let tls13: Vec<usize> = (0..all.len()).filter(|&i| all[i].tls13 && !banned.contains(&i)).collect();
        chosen.splice(0..0, tls13);
    }
    if !names_tls13 && !chosen.iter().any(|&i| !all[i].tls13) {
        return Err(format!("--ciphers '{spec}' selects no TLS 1.2 cipher suite rustls supports"));
    }
    Ok(chosen.into_iter().map(|i| all[i].suite).collect())
}

fn is_alias(all: &[Suite], term: &str) -> bool {
    all.iter().any(|s| matches(s, term))
}

/// The OpenSSL name of a suite, as `SSL_CIPHER` and Python's `SSLSocket.cipher()` report it.
pub fn openssl_name(suite: SupportedCipherSuite) -> &'static str {
    suites().into_iter().find(|s| s.suite.suite() == suite.suite()).map(|s| s.openssl).unwrap_or("UNKNOWN")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(spec: &str) -> Vec<&'static str> {
        select(spec).expect("valid").into_iter().map(openssl_name).collect()
    }

    #[test]
    fn an_exact_tls12_name_keeps_every_tls13_suite() {
        assert_eq!(
            names("ECDHE-RSA-AES128-GCM-SHA256"),
            [
                "TLS_AES_256_GCM_SHA384",
                "TLS_AES_128_GCM_SHA256",
                "TLS_CHACHA20_POLY1305_SHA256",
                "ECDHE-RSA-AES128-GCM-SHA256"
            ]
        );
    }

    #[test]
    fn iana_names_work_too() {
        assert!(names("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384").contains(&"ECDHE-RSA-AES256-GCM-SHA384"));
    }

    #[test]
    fn aliases_combine_and_exclusions_apply() {
        let got = names("ECDHE+AESGCM:!aNULL:!MD5:!ECDSA");
        assert_eq!(&got[3..], ["ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256"]);
        let got = names("HIGH:-CHACHA20");
        assert!(!got[3..].iter().any(|n| n.contains("CHACHA")), "{got:?}");
    }

    #[test]
    fn naming_tls13_suites_restricts_them() {
        assert_eq!(
            names("TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256"),
            ["TLS_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"]
        );
    }

    #[test]
    fn unsupported_and_unknown_names_are_errors_that_name_them() {
        let err = select("ECDHE-RSA-AES128-SHA").expect_err("CBC is not in rustls");
        assert!(err.contains("'ECDHE-RSA-AES128-SHA'") && err.contains("not supported"), "{err}");
        let err = select("HIGH:NOPE-CIPHER").expect_err("typo");
        assert!(err.contains("unknown cipher name 'NOPE-CIPHER'"), "{err}");
        assert!(select("RC4").is_err());
        assert!(select("ECDHE-RSA-AES128-SHA:!CBC").is_err());
    }

    #[test]
    fn a_string_that_leaves_no_tls12_suite_is_refused() {
        assert!(select("ECDHE+AESGCM:!ECDHE").is_err());
    }
}
