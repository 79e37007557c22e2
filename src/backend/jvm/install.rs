//! Where a release's jars come from: the cache that [`Cache::install`] fills
//! from Maven Central, or a Kafka installation of the user's in the release
//! tarball's layout ([`Install::from_home`], `--kafka-home 3.8=/opt/kafka`).
//!
//! # The cache
//!
//! `$KAFKA_MATRIX_CACHE`, else `$XDG_CACHE_HOME/kafka-matrix`, else
//! `~/.cache/kafka-matrix`; one directory per patch release,
//! `jvm/kafka-<version>/` with `pom.xml`, `libs/` and `SHA256SUMS`.
//!
//! - **Filled with Maven** (`mvn dependency:copy-dependencies` on a project
//!   of [`recipe::pom`]): Maven resolves the broker's runtime tree from
//!   Maven Central and checks each download against the repository's
//!   checksums (`-C`, strict).
//! - **Checksummed**: the jars' SHA-256 sums are written once fetched, and
//!   checked (once per process) before a broker runs from them; a changed,
//!   missing or extra jar is an error naming the entry.
//! - **Safe for concurrent runs**: fetches take a lock file, build in a
//!   temporary directory and rename it into place, so a reader sees a whole
//!   entry or none.
//! - **Offline once warm**: a complete entry needs no network and no Maven.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::recipe;
use super::JvmError;
use crate::versions::{release_info, Release};

/// Overrides the cache directory.
pub const CACHE_ENV: &str = "KAFKA_MATRIX_CACHE";
/// The manifest of an entry's jars, `sha256sum` format.
const MANIFEST: &str = "SHA256SUMS";
/// The dependency plugin, pinned.
const DEPENDENCY_PLUGIN: &str = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies";

/// Where the jars a broker runs from came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The cache, filled from Maven Central.
    MavenCentral,
    /// A Kafka installation given with `--kafka-home`.
    Home(PathBuf),
}

/// One release's jars, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    /// The minor release.
    pub release: Release,
    /// The exact version, e.g. `3.8.1`.
    pub version: String,
    /// The broker artifact, `org.apache.kafka:kafka_2.13:3.8.1`.
    pub artifact: String,
    /// The directory of jars (the tarball's `libs/`).
    pub libs: PathBuf,
    /// Where they came from.
    pub origin: Origin,
}

impl Install {
    /// The JVM classpath: every jar of `libs/` (Java expands `*`).
    pub fn classpath(&self) -> String {
        format!("{}/*", self.libs.display())
    }

    /// What a report names: `Kafka 3.8.1 (org.apache.kafka:kafka_2.13:3.8.1
    /// from Maven Central)`, or the installation's directory.
    pub fn describe(&self) -> String {
        match &self.origin {
            Origin::MavenCentral => from_maven_central(&self.version, &self.artifact),
            Origin::Home(dir) => format!("Kafka {} ({})", self.version, dir.display()),
        }
    }

    /// A user's installation of `release` in the tarball's layout: its
    /// version is read off `libs/kafka_2.1x-X.Y.Z.jar`, and must be of
    /// `release`.
    pub fn from_home(release: Release, home: &Path) -> Result<Self, JvmError> {
        let bad = |why: String| JvmError::BadHome {
            release,
            home: home.to_owned(),
            why,
        };
        let libs = home.join("libs");
        let entries = std::fs::read_dir(&libs).map_err(|e| bad(format!("cannot read {}: {e}", libs.display())))?;
        let mut found = None;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some((scala, version)) = broker_jar_version(&name) {
                found = Some((scala.to_owned(), version.to_owned()));
                break;
            }
        }
        let (scala, version) = found.ok_or_else(|| bad(format!("{} has no kafka_2.1x-X.Y.Z.jar", libs.display())))?;
        if version.parse::<Release>() != Ok(release) {
            return Err(bad(format!("it holds Kafka {version}, not {release}")));
        }
        Ok(Self {
            release,
            artifact: format!("org.apache.kafka:kafka_{scala}:{version}"),
            version,
            libs,
            origin: Origin::Home(home.to_owned()),
        })
    }
}

/// How a report names fetched jars: `Kafka 3.8.1 (org.apache.kafka:kafka_2.13:3.8.1 from Maven Central)`.
pub fn from_maven_central(version: &str, artifact: &str) -> String {
    format!("Kafka {version} ({artifact} from Maven Central)")
}

/// `kafka_2.13-3.8.0.jar` → (`2.13`, `3.8.0`); test, sources and javadoc
/// jars (`kafka_2.13-3.8.0-test.jar`) and anything else → `None`.
fn broker_jar_version(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix("kafka_")?.strip_suffix(".jar")?;
    let (scala, version) = rest.split_once('-')?;
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = version.split('.').collect();
    (scala.starts_with("2.") && parts.len() == 3 && parts.iter().all(|p| numeric(p))).then_some((scala, version))
}

/// `--kafka-home 3.8=/opt/kafka_2.13-3.8.0[,4.0=/opt/kafka-4.0]`: one
/// installation per release.
pub fn parse_kafka_homes(specs: &[String]) -> Result<BTreeMap<Release, PathBuf>, String> {
    let mut out = BTreeMap::new();
    for spec in specs
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let (release, dir) = spec
            .split_once('=')
            .ok_or_else(|| format!("--kafka-home {spec:?} is not RELEASE=DIR (e.g. 3.8=/opt/kafka_2.13-3.8.0)"))?;
        let release: Release = release
            .trim()
            .parse()
            .map_err(|e| format!("--kafka-home {spec:?}: {e}"))?;
        if release_info(release).is_none() {
            return Err(format!("--kafka-home {spec:?}: Kafka {release} is not in the catalog"));
        }
        if out.insert(release, PathBuf::from(dir.trim())).is_some() {
            return Err(format!("--kafka-home names Kafka {release} more than once"));
        }
    }
    Ok(out)
}

/// How [`Cache::install`] got an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// It was there.
    Cached,
    /// Maven fetched it, in this long.
    Now(Duration),
}

/// The jar cache.
#[derive(Debug)]
pub struct Cache {
    root: PathBuf,
    verified: Mutex<HashSet<PathBuf>>,
}

impl Cache {
    /// The cache at `root`.
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            verified: Mutex::new(HashSet::new()),
        }
    }

    /// The default cache (`$KAFKA_MATRIX_CACHE`, `$XDG_CACHE_HOME/kafka-matrix`,
    /// `~/.cache/kafka-matrix`).
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let root = var(CACHE_ENV)
            .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("kafka-matrix")))
            .or_else(|| var("HOME").map(|d| d.join(".cache/kafka-matrix")))
            .unwrap_or_else(|| std::env::temp_dir().join("kafka-matrix-cache"));
        Self::new(root)
    }

    /// The cache's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn entry(&self, version: &str) -> PathBuf {
        self.root.join("jvm").join(format!("kafka-{version}"))
    }

    /// The newest patch of `release` (the catalog's), fetched if it is not
    /// cached, and checked against its checksums.
    pub async fn install(&self, release: Release) -> Result<(Install, Fetched), JvmError> {
        let info = release_info(release).ok_or(JvmError::UnknownRelease(release))?;
        let version = info.latest_patch;
        let dir = self.entry(version);
        let fetched = if is_current(&dir, release, version) {
            Fetched::Cached
        } else {
            let started = Instant::now();
            let root = self.root.clone();
            let target = dir.clone();
            tokio::task::spawn_blocking(move || fetch_locked(&root, &target, release, version))
                .await
                .map_err(|e| JvmError::Fetch {
                    version: version.to_owned(),
                    why: format!("the fetch task failed: {e}"),
                })??;
            Fetched::Now(started.elapsed())
        };
        self.verify(&dir, version).await?;
        Ok((
            Install {
                release,
                version: version.to_owned(),
                artifact: recipe::artifact(release, version),
                libs: dir.join("libs"),
                origin: Origin::MavenCentral,
            },
            fetched,
        ))
    }

    /// Checks an entry's jars against its manifest, once per process.
    async fn verify(&self, dir: &Path, version: &str) -> Result<(), JvmError> {
        if self.verified.lock().map(|v| v.contains(dir)).unwrap_or(false) {
            return Ok(());
        }
        let corrupt = |why: String| JvmError::Corrupt {
            entry: dir.to_owned(),
            version: version.to_owned(),
            why,
        };
        let manifest = tokio::fs::read_to_string(dir.join(MANIFEST))
            .await
            .map_err(|e| corrupt(format!("cannot read {MANIFEST}: {e}")))?;
        let listed: HashSet<&str> = manifest
            .lines()
            .filter_map(|l| l.split_once("  ").map(|(_, n)| n))
            .collect();
        let mut present = HashSet::new();
        let mut entries = tokio::fs::read_dir(dir.join("libs"))
            .await
            .map_err(|e| corrupt(format!("cannot read libs/: {e}")))?;
        while let Ok(Some(e)) = entries.next_entry().await {
            present.insert(e.file_name().to_string_lossy().into_owned());
        }
        if let Some(extra) = present.iter().find(|n| !listed.contains(n.as_str())) {
            return Err(corrupt(format!("libs/{extra} is not in {MANIFEST}")));
        }
        let out = tokio::process::Command::new("sha256sum")
            .args(["--check", "--strict", "--quiet", "--", &format!("../{MANIFEST}")])
            .current_dir(dir.join("libs"))
            .output()
            .await
            .map_err(|e| corrupt(format!("cannot run sha256sum (coreutils): {e}")))?;
        if !out.status.success() {
            let said = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
            return Err(corrupt(said.lines().next().unwrap_or("checksum mismatch").to_owned()));
        }
        if let Ok(mut v) = self.verified.lock() {
            v.insert(dir.to_owned());
        }
        Ok(())
    }
}

/// Whether `dir` is a complete entry of today's recipe: its manifest is
/// written (last), and its `pom.xml` is the one [`recipe::pom`] makes now
/// (an entry fetched by an older recipe, say another logging binding, is
/// fetched again).
fn is_current(dir: &Path, release: Release, version: &str) -> bool {
    dir.join(MANIFEST).is_file()
        && std::fs::read_to_string(dir.join("pom.xml")).is_ok_and(|pom| pom == recipe::pom(release, version))
}

/// Fetches `version` into `target` under the cache-wide lock (two runs
/// fetching at once take turns, and the second finds the entry complete).
fn fetch_locked(root: &Path, target: &Path, release: Release, version: &str) -> Result<(), JvmError> {
    let fail = |why: String| JvmError::Fetch {
        version: version.to_owned(),
        why,
    };
    let jvm = root.join("jvm");
    std::fs::create_dir_all(&jvm).map_err(|e| fail(format!("cannot create {}: {e}", jvm.display())))?;
    let lock = std::fs::File::create(jvm.join(".fetch.lock")).map_err(|e| fail(format!("lock file: {e}")))?;
    lock.lock().map_err(|e| fail(format!("cannot lock the cache: {e}")))?;
    if is_current(target, release, version) {
        return Ok(());
    }
    let tmp = jvm.join(format!(".tmp-kafka-{version}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let result = fetch_into(&tmp, release, version).and_then(|()| {
        // An entry of an older recipe is moved aside first; a reader that
        // checked it already holds its files open, or finds the new one.
        if target.exists() {
            let old = jvm.join(format!(".old-kafka-{version}-{}", std::process::id()));
            std::fs::rename(target, &old).map_err(|e| fail(format!("cannot move the stale entry aside: {e}")))?;
            let _ = std::fs::remove_dir_all(&old);
        }
        std::fs::rename(&tmp, target).map_err(|e| fail(format!("cannot move the entry into place: {e}")))
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

fn fetch_into(dir: &Path, release: Release, version: &str) -> Result<(), JvmError> {
    let fail = |why: String| JvmError::Fetch {
        version: version.to_owned(),
        why,
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
    std::fs::write(dir.join("pom.xml"), recipe::pom(release, version)).map_err(|e| fail(format!("pom.xml: {e}")))?;
    let out = std::process::Command::new("mvn")
        .args(["-B", "-q", "-C", "-f"])
        .arg(dir.join("pom.xml"))
        .arg(DEPENDENCY_PLUGIN)
        .arg(format!("-DoutputDirectory={}", dir.join("libs").display()))
        .args(["-DincludeScope=runtime", "-Dmdep.useRepositoryLayout=false"])
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => JvmError::NoMaven,
            _ => fail(format!("cannot run mvn: {e}")),
        })?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
        let line = text
            .lines()
            .find(|l| l.contains("[ERROR]") && !l.trim_end().ends_with("[ERROR]"))
            .unwrap_or("mvn failed")
            .trim()
            .to_owned();
        return Err(fail(format!(
            "Maven could not resolve {}: {line}",
            recipe::artifact(release, version)
        )));
    }
    let libs = dir.join("libs");
    let mut jars: Vec<String> = std::fs::read_dir(&libs)
        .map_err(|e| fail(format!("no libs/ after mvn: {e}")))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    jars.sort();
    if !jars.iter().any(|j| broker_jar_version(j).is_some()) {
        return Err(fail("mvn left no broker jar in libs/".into()));
    }
    let sums = std::process::Command::new("sha256sum")
        .arg("--")
        .args(&jars)
        .current_dir(&libs)
        .output()
        .map_err(|e| fail(format!("cannot run sha256sum (coreutils): {e}")))?;
    if !sums.status.success() {
        return Err(fail(format!(
            "sha256sum failed: {}",
            String::from_utf8_lossy(&sums.stderr).trim()
        )));
    }
    std::fs::write(dir.join(MANIFEST), sums.stdout).map_err(|e| fail(format!("{MANIFEST}: {e}")))?;
    Ok(())
}

/// The size of a directory's files, bytes.
pub fn size_of(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => size_of(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_jars_are_told_from_the_others() {
        assert_eq!(broker_jar_version("kafka_2.13-3.8.0.jar"), Some(("2.13", "3.8.0")));
        assert_eq!(broker_jar_version("kafka_2.12-2.0.1.jar"), Some(("2.12", "2.0.1")));
        assert_eq!(broker_jar_version("kafka_2.13-3.8.0-test.jar"), None);
        assert_eq!(broker_jar_version("kafka-clients-3.8.0.jar"), None);
        assert_eq!(broker_jar_version("kafka_2.13-3.8.jar"), None);
    }

    #[test]
    fn kafka_homes_parse_and_bad_ones_are_one_line_each() {
        let got = parse_kafka_homes(&["3.8=/opt/k38, 4.0=/opt/k40".into()]).expect("parses");
        assert_eq!(got.get(&Release::new(3, 8)), Some(&PathBuf::from("/opt/k38")));
        assert_eq!(got.len(), 2);
        assert_eq!(
            parse_kafka_homes(&["/opt/k".into()]),
            Err("--kafka-home \"/opt/k\" is not RELEASE=DIR (e.g. 3.8=/opt/kafka_2.13-3.8.0)".into())
        );
        assert!(parse_kafka_homes(&["1.1=/opt/k".into()]).is_err());
        assert_eq!(
            parse_kafka_homes(&["3.8=/a".into(), "3.8=/b".into()]),
            Err("--kafka-home names Kafka 3.8 more than once".into())
        );
    }

    #[test]
    fn a_home_is_read_off_its_broker_jar() {
        let home = std::env::temp_dir().join(format!("kafka-matrix-home-unit-{}", std::process::id()));
        std::fs::create_dir_all(home.join("libs")).expect("mkdir");
        std::fs::write(home.join("libs/kafka_2.13-3.8.0-test.jar"), b"").expect("write");
        std::fs::write(home.join("libs/kafka_2.13-3.8.0.jar"), b"").expect("write");
        let got = Install::from_home(Release::new(3, 8), &home).expect("a 3.8 home");
        assert_eq!(got.version, "3.8.0");
        assert_eq!(got.artifact, "org.apache.kafka:kafka_2.13:3.8.0");
        let wrong = Install::from_home(Release::new(3, 7), &home).map_err(|e| e.to_string());
        assert!(wrong.is_err_and(|e| e.ends_with("it holds Kafka 3.8.0, not 3.7")));
        let _ = std::fs::remove_dir_all(&home);
    }

    #[tokio::test]
    async fn a_cache_entry_is_checked_against_its_sums_and_its_recipe() {
        let root = std::env::temp_dir().join(format!("kafka-matrix-cache-unit-{}", std::process::id()));
        let release = Release::new(3, 8);
        let version = release_info(release).expect("3.8").latest_patch;
        let entry = root.join("jvm").join(format!("kafka-{version}"));
        std::fs::create_dir_all(entry.join("libs")).expect("mkdir");
        let jar = format!("kafka_2.13-{version}.jar");
        std::fs::write(entry.join("libs").join(&jar), b"jar bytes").expect("write");
        let sums = std::process::Command::new("sha256sum")
            .arg(&jar)
            .current_dir(entry.join("libs"))
            .output()
            .expect("sha256sum");
        std::fs::write(entry.join(MANIFEST), sums.stdout).expect("write");
        std::fs::write(entry.join("pom.xml"), recipe::pom(release, version)).expect("write");
        assert!(is_current(&entry, release, version));
        let (install, fetched) = Cache::new(root.clone()).install(release).await.expect("a good entry");
        assert_eq!((install.version.as_str(), fetched), (version, Fetched::Cached));

        std::fs::write(entry.join("libs").join(&jar), b"other bytes").expect("write");
        let changed = Cache::new(root.clone())
            .install(release)
            .await
            .map_err(|e| e.to_string());
        assert!(changed.is_err_and(|e| e.contains("are corrupt")), "a changed jar");
        std::fs::write(entry.join("libs").join(&jar), b"jar bytes").expect("write");
        std::fs::write(entry.join("libs/extra.jar"), b"").expect("write");
        let extra = Cache::new(root.clone())
            .install(release)
            .await
            .map_err(|e| e.to_string());
        assert!(
            extra.is_err_and(|e| e.contains("libs/extra.jar is not in SHA256SUMS")),
            "an extra jar"
        );

        std::fs::write(entry.join("pom.xml"), "<project/>").expect("write");
        assert!(
            !is_current(&entry, release, version),
            "another recipe's entry is fetched again"
        );
        let _ = std::fs::remove_dir_all(&root);
    }
}
