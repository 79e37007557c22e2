//! The JDK the brokers run on: `KAFKA_MATRIX_JAVA_HOME`, else `JAVA_HOME`,
//! else `java` on the `PATH`; its version is read once (`java -version`)
//! and named in every report.

use std::path::PathBuf;

use super::JvmError;

/// Overrides the JDK (a directory with `bin/java`).
pub const JAVA_HOME_ENV: &str = "KAFKA_MATRIX_JAVA_HOME";

/// A JDK that runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Java {
    /// The `java` executable.
    pub bin: PathBuf,
    /// Its version line, e.g. `openjdk 17.0.15`.
    pub version: String,
    /// Its feature release, e.g. 17.
    pub major: u32,
}

impl std::fmt::Display for Java {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.version)
    }
}

impl Java {
    /// Finds the JDK and reads its version.
    pub async fn find() -> Result<Self, JvmError> {
        let home = std::env::var_os(JAVA_HOME_ENV).or_else(|| std::env::var_os("JAVA_HOME"));
        let bin = match home {
            Some(h) if !h.is_empty() => PathBuf::from(h).join("bin/java"),
            _ => PathBuf::from("java"),
        };
        let out = tokio::process::Command::new(&bin)
            .arg("-version")
            .output()
            .await
            .map_err(|e| JvmError::NoJava {
                bin: bin.display().to_string(),
                why: e.to_string(),
            })?;
        // `java -version` writes to stderr: `openjdk version "17.0.15" 2025-04-15`.
        let text = String::from_utf8_lossy(&out.stderr);
        let first = text.lines().next().unwrap_or("").trim();
        let parsed = parse_version_line(first).filter(|_| out.status.success());
        let (name, version, major) = parsed.ok_or_else(|| JvmError::NoJava {
            bin: bin.display().to_string(),
            why: format!("`java -version` said {first:?}"),
        })?;
        if major < 17 {
            return Err(JvmError::NoJava {
                bin: bin.display().to_string(),
                why: format!("it is Java {major}; the brokers need 17 or newer (Kafka 4.x requires it)"),
            });
        }
        Ok(Self {
            bin,
            version: format!("{name} {version}"),
            major,
        })
    }
}

/// `openjdk version "17.0.15" 2025-04-15` → (`openjdk`, `17.0.15`, 17).
fn parse_version_line(line: &str) -> Option<(String, String, u32)> {
    let (name, rest) = line.split_once(" version \"")?;
    let (version, _) = rest.split_once('"')?;
    let major = version.split(['.', '-', '+']).next()?.parse().ok()?;
    Some((name.to_owned(), version.to_owned(), major))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_lines() {
        assert_eq!(
            parse_version_line("openjdk version \"17.0.15\" 2025-04-15"),
            Some(("openjdk".into(), "17.0.15".into(), 17))
        );
        assert_eq!(
            parse_version_line("openjdk version \"25\" 2025-09-16 LTS"),
            Some(("openjdk".into(), "25".into(), 25))
        );
        assert_eq!(parse_version_line("bash: java: not found"), None);
    }
}
