//! The machine a run measured on, and its load.
//!
//! Read from `/proc` (Linux); on other systems the fields say "unknown". Two
//! runs' absolute times are comparable only on the same machine
//! ([`Machine::same_as`]: CPU model, core count, kernel); ratios between
//! clients measured in the same rounds are what survives a change of machine.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// `/proc/cpuinfo` "model name".
    pub cpu_model: String,
    /// Cores this process may run on.
    pub cores: u32,
    /// `/proc/sys/kernel/osrelease`.
    pub kernel: String,
    /// `/etc/os-release` PRETTY_NAME.
    pub os: String,
    /// `/proc/sys/kernel/hostname`.
    pub hostname: String,
}

/// `/proc/loadavg`'s three averages.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoadAvg {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

const UNKNOWN: &str = "unknown";

impl Machine {
    /// This machine, as far as `/proc` tells.
    pub fn detect() -> Self {
        let cpu_model = read("/proc/cpuinfo")
            .and_then(|t| cpu_model(&t))
            .unwrap_or_else(|| UNKNOWN.to_owned());
        let cores = std::thread::available_parallelism()
            .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
            .unwrap_or(0);
        let line = |path: &str| {
            read(path)
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| UNKNOWN.to_owned())
        };
        let os = read("/etc/os-release")
            .and_then(|t| pretty_name(&t))
            .unwrap_or_else(|| UNKNOWN.to_owned());
        Self {
            cpu_model,
            cores,
            kernel: line("/proc/sys/kernel/osrelease"),
            os,
            hostname: line("/proc/sys/kernel/hostname"),
        }
    }

    /// Whether absolute times from `other` compare with ours: the same CPU
    /// model, core count and kernel (and none of them unknown).
    pub fn same_as(&self, other: &Machine) -> bool {
        self.cpu_model != UNKNOWN
            && self.kernel != UNKNOWN
            && self.cores > 0
            && (&self.cpu_model, self.cores, &self.kernel) == (&other.cpu_model, other.cores, &other.kernel)
    }

    /// "Intel(R) Xeon(R) Processor, 2 cores, Linux 6.1.0 (Debian GNU/Linux 12)".
    pub fn summary(&self) -> String {
        format!(
            "{}, {} core{}, kernel {} ({}), host {}",
            self.cpu_model,
            self.cores,
            if self.cores == 1 { "" } else { "s" },
            self.kernel,
            self.os,
            self.hostname
        )
    }
}

impl LoadAvg {
    /// Now, from `/proc/loadavg`.
    pub fn now() -> Option<Self> {
        read("/proc/loadavg").and_then(|t| Self::parse(&t))
    }

    fn parse(text: &str) -> Option<Self> {
        let mut it = text.split_whitespace().map(|f| f.parse::<f64>().ok());
        Some(Self {
            one: it.next()??,
            five: it.next()??,
            fifteen: it.next()??,
        })
    }

    /// "1.81 1.19 0.89".
    pub fn summary(&self) -> String {
        format!("{:.2} {:.2} {:.2}", self.one, self.five, self.fifteen)
    }
}

fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn pretty_name(os_release: &str) -> Option<String> {
    os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_parse() {
        assert_eq!(
            LoadAvg::parse("1.81 1.19 0.89 2/122 8167\n"),
            Some(LoadAvg {
                one: 1.81,
                five: 1.19,
                fifteen: 0.89
            })
        );
        assert_eq!(LoadAvg::parse("1.0 x"), None);
        let cpuinfo = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\n";
        assert_eq!(cpu_model(cpuinfo).as_deref(), Some("Intel(R) Xeon(R) Processor"));
        assert_eq!(
            pretty_name("NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n").as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
    }

    #[test]
    fn same_machine_needs_cpu_cores_and_kernel() {
        let a = Machine {
            cpu_model: "X".into(),
            cores: 2,
            kernel: "6.1".into(),
            os: "Debian".into(),
            hostname: "a".into(),
        };
        // Another host name (a fresh container) is still the same machine.
        let b = Machine {
            hostname: "b".into(),
            ..a.clone()
        };
        assert!(a.same_as(&b));
        assert!(!a.same_as(&Machine { cores: 4, ..a.clone() }));
        assert!(!a.same_as(&Machine {
            kernel: "6.2".into(),
            ..a.clone()
        }));
        let unknown = Machine {
            cpu_model: UNKNOWN.into(),
            ..a.clone()
        };
        assert!(!unknown.same_as(&unknown));
    }
}
