//! One file per API key the emulator answers, each opening with its
//! behaviour, version notes and source (in the style of franz-go's kfake).

pub mod api_versions;
pub mod describe_cluster;
pub mod metadata;
