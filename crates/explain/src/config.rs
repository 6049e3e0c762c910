//! Settings of the explanation stage (the `explain:` part of the YAML config).

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Everything `explain` can be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExplainConfig {
    /// Tier 1: graph reduction.
    pub reduce: ReduceConfig,
    /// Tiers 2 and 3: causal discovery.
    pub causal: CausalConfig,
    /// Attack chains.
    pub chains: ChainConfig,
    /// Entities whose compromise matters most: the blast radius is traced
    /// toward them, and counterfactuals say what would have kept them safe.
    pub critical_assets: Vec<CriticalAsset>,
}

impl Default for ExplainConfig {
    fn default() -> Self {
        Self {
            reduce: ReduceConfig::default(),
            causal: CausalConfig::default(),
            chains: ChainConfig::default(),
            critical_assets: default_critical_assets(),
        }
    }
}

/// A critical asset: a name and a regular expression over entity names
/// (paths, executables, registry keys, addresses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriticalAsset {
    /// What the asset is, for the narrative ("credential store").
    pub name: String,
    /// Regular expression matched against the entity's name.
    pub pattern: String,
}

fn asset(name: &str, pattern: &str) -> CriticalAsset {
    CriticalAsset {
        name: name.to_owned(),
        pattern: pattern.to_owned(),
    }
}

/// The assets a Linux or Windows host protects first when nobody configured any.
fn default_critical_assets() -> Vec<CriticalAsset> {
    vec![
        asset(
            "credential store",
            r"^/etc/(shadow|gshadow|master\.passwd|security/opasswd)$",
        ),
        asset("account database", r"^/etc/(passwd|group)$"),
        asset("privilege configuration", r"^/etc/sudoers(\.d/.*)?$"),
        asset("SSH keys", r"/\.ssh/"),
        asset("scheduled tasks", r"^/(etc/cron|var/spool/cron)"),
        asset("system services", r"^/(etc|usr/lib|lib)/systemd/system/"),
        asset(
            "shell start-up files",
            r"/(\.bashrc|\.bash_profile|\.profile)$|^/etc/profile",
        ),
        asset("LSASS", r"(?i)\\lsass\.exe$"),
        asset("SAM hive", r"(?i)\\(SAM|SECURITY)(\\|$)"),
        asset("autorun keys", r"(?i)\\CurrentVersion\\Run(Once)?(\\|$)"),
    ]
}

/// Tier 1: how far to trace and what not to trace through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReduceConfig {
    /// Hops of backward tracing from the alerted entities toward root causes.
    pub back_hops: usize,
    /// Hops of forward tracing from root causes and alerted entities toward
    /// impact (process creation is free: a process tree is followed whole).
    pub forward_hops: usize,
    /// Seconds before the first alerted entity that backward tracing may reach.
    pub back_secs: f64,
    /// Seconds after the alert that forward tracing may reach.
    pub forward_secs: f64,
    /// Entities with this many distinct neighbours or more are shared hubs
    /// (a shell that starts everything, a library every process loads): they
    /// are kept as boundary nodes but not traced through, unless anomalous.
    pub max_fanout: usize,
    /// Regular expressions over entity names that are never traced through
    /// unless anomalous: shared libraries, caches, pseudo-files.
    pub shared_objects: Vec<String>,
    /// Most hops from the traced graph toward a critical asset.
    pub blast_hops: usize,
    /// Most entities a reduced graph may hold; tracing stops there and says so.
    pub max_entities: usize,
}

impl Default for ReduceConfig {
    fn default() -> Self {
        Self {
            back_hops: 3,
            forward_hops: 4,
            back_secs: 600.0,
            forward_secs: 600.0,
            max_fanout: 25,
            shared_objects: [
                r"^/etc/ld\.so\.(cache|preload)$",
                r"\.so(\.[0-9]+)*$",
                r"^/(usr/)?lib(32|64|x32)?/",
                r"^/usr/share/(locale|zoneinfo|i18n)/",
                r"^/proc/",
                r"^/sys/",
                r"^/dev/(null|zero|u?random|tty|pts/|ptmx|full)",
                r"^/etc/(nsswitch\.conf|localtime|locale\.alias|host\.conf|hosts|resolv\.conf|gai\.conf)$",
                r"(?i)\\windows\\system32\\[^\\]+\.(dll|nls|mui)$",
                r"(?i)\\windows\\winsxs\\",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
            blast_hops: 6,
            max_entities: 5000,
        }
    }
}

/// Tiers 2 and 3: causal discovery settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CausalConfig {
    /// Which CI test: `fisher-z`, `g-test`, `chi-square` or `neural`.
    pub ci_test: String,
    /// Significance level of the CI tests.
    pub alpha: f64,
    /// Largest conditioning set.
    pub max_cond_size: usize,
    /// Most entities that become variables (the most anomalous and busiest first).
    pub max_variables: usize,
    /// Most time bins of the activity series.
    pub max_bins: usize,
    /// Weight of a chain step whose edge causal discovery did not confirm.
    pub unconfirmed_weight: f64,
}

impl Default for CausalConfig {
    fn default() -> Self {
        Self {
            ci_test: "fisher-z".to_owned(),
            alpha: 0.05,
            max_cond_size: 2,
            max_variables: 80,
            max_bins: 200,
            unconfirmed_weight: 0.25,
        }
    }
}

/// Attack chain ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChainConfig {
    /// Chains reported per alert.
    pub max_chains: usize,
    /// Longest chain, in steps.
    pub max_length: usize,
    /// Most paths examined before ranking.
    pub max_paths: usize,
}

impl Default for ChainConfig {
    fn default() -> Self {
        Self {
            max_chains: 5,
            max_length: 12,
            max_paths: 20_000,
        }
    }
}

/// Compiles a list of patterns, naming the field and entry of a bad one.
///
/// # Errors
/// [`Error::BadArgument`] naming the field and the pattern's position.
pub fn compile_patterns(field: &'static str, patterns: &[String]) -> Result<Vec<Regex>> {
    patterns
        .iter()
        .enumerate()
        .map(|(i, p)| {
            Regex::new(p).map_err(|e| Error::BadArgument {
                what: field,
                reason: format!("entry {i} ({p:?}): {e}"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_compile_and_match_what_they_say() {
        let c = ExplainConfig::default();
        let shared = compile_patterns("shared_objects", &c.reduce.shared_objects).unwrap();
        let hit = |s: &str| shared.iter().any(|r| r.is_match(s));
        assert!(hit("/etc/ld.so.cache"));
        assert!(hit("/usr/lib/x86_64-linux-gnu/libc.so.6"));
        assert!(!hit("/etc/shadow"));
        let crit: Vec<String> = c
            .critical_assets
            .iter()
            .map(|a| a.pattern.clone())
            .collect();
        let crit = compile_patterns("critical_assets", &crit).unwrap();
        assert!(crit.iter().any(|r| r.is_match("/etc/shadow")));
        assert!(crit
            .iter()
            .any(|r| r.is_match("/home/a/.ssh/authorized_keys")));
        assert!(!crit.iter().any(|r| r.is_match("/tmp/x")));
    }

    #[test]
    fn bad_pattern_names_field_and_entry() {
        let e = compile_patterns("shared_objects", &["ok".into(), "(".into()]).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("shared_objects") && s.contains("entry 1"), "{s}");
    }

    #[test]
    fn yaml_rejects_unknown_keys() {
        let e = serde_norway::from_str::<ExplainConfig>("reduce:\n  back_hop: 2\n").unwrap_err();
        assert!(e.to_string().contains("back_hop"), "{e}");
    }
}
