//! KIP-219 throttling: which replies oblige the client to wait.
//!
//! Since Kafka 2.0 a broker over a quota sends its reply at once, with
//! `throttle_time_ms` set, and then mutes the connection for that long. From
//! the versions below on, the client "should refrain from sending any
//! further requests for time X" (KIP-219); before them the old contract held
//! (the broker had already delayed the reply) and the client need not wait.
//! Source: `ApiVersionsResponse.json` ("Starting in version 2, on quota
//! violation, brokers send out responses before throttling"),
//! `MetadataResponse.json` ("Starting in version 6 …"), and the Java client's
//! `shouldClientThrottle` (`ApiVersionsResponse.java`, `MetadataResponse.java`
//! at 3.8.0).

use super::api_key;

/// Whether a reply of API `key` at `version` with `throttle_time_ms` > 0
/// obliges the client to wait that long before its next request.
pub fn client_must_wait(key: i16, version: i16) -> bool {
    match key {
        api_key::API_VERSIONS => version >= 2,
        api_key::METADATA => version >= 6,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kip_219_versions() {
        assert!(!client_must_wait(api_key::API_VERSIONS, 1));
        assert!(client_must_wait(api_key::API_VERSIONS, 2));
        assert!(!client_must_wait(api_key::METADATA, 5));
        assert!(client_must_wait(api_key::METADATA, 6));
        assert!(!client_must_wait(0, 9));
    }
}
