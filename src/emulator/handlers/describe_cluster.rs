//! DescribeCluster (key 60), advertised from 2.8 (KIP-700): what Kafka's
//! `Admin.describeCluster()` sends to a broker that advertises it.
//!
//! Behaviour (one broker, no authorizer):
//! - cluster id, the one broker (node 1 at the advertised host/port, no
//!   rack), controller id 1 (ZooKeeper: the controller; KRaft: a random alive
//!   broker, which with one broker is also 1);
//! - cluster authorized operations: every operation Kafka supports on the
//!   CLUSTER when asked for ([`super::metadata::CLUSTER_OPERATIONS`], as for
//!   Metadata), else Int.MinValue;
//! - v1+ endpoint type: this is a broker listener, so 1 is answered with
//!   endpoint type 1; 2 (controller) is MISMATCHED_ENDPOINT_TYPE (114), and
//!   any other value UNSUPPORTED_ENDPOINT_TYPE (115), each with Kafka's
//!   message, the default cluster id (empty), controller -1 and no brokers;
//! - v2 `include_fenced_brokers`: the one broker is never fenced, so the
//!   list is the same either way (`is_fenced` false).
//!
//! Sources (Apache Kafka): 2.8.0–3.6 `KafkaApis.handleDescribeCluster`;
//! 3.7.0+ `AuthHelper.computeDescribeClusterResponse` (the endpoint-type
//! check: INVALID_REQUEST at v0, which cannot carry a type, else the two
//! codes above); 4.0.0 `KafkaApis.handleDescribeCluster` with
//! `includeFencedBrokers`; `DescribeClusterResponse.json` for the defaults.

use crate::protocol::messages::describe_cluster::{ENDPOINT_BROKER, ENDPOINT_CONTROLLER};
use crate::protocol::messages::{DescribeClusterBroker, DescribeClusterRequest, DescribeClusterResponse};
use crate::protocol::ErrorCode;

use super::metadata::{ClusterView, CLUSTER_OPERATIONS, NODE_ID};

/// The reply to `req`.
/// (The v0 INVALID_REQUEST branches of the endpoint-type check cannot be
/// reached: v0 carries no endpoint type, so it reads as 1.)
pub fn handle(req: &DescribeClusterRequest, view: &ClusterView) -> DescribeClusterResponse {
    let refuse = |code: ErrorCode, message: String| DescribeClusterResponse {
        error_code: code.0,
        error_message: Some(message),
        ..DescribeClusterResponse::default()
    };
    match req.endpoint_type {
        ENDPOINT_BROKER => {}
        ENDPOINT_CONTROLLER => {
            // `EndpointType`'s names: this listener's, then the one asked for.
            return refuse(
                ErrorCode::MISMATCHED_ENDPOINT_TYPE,
                "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER"
                    .to_owned(),
            );
        }
        other => {
            return refuse(
                ErrorCode::UNSUPPORTED_ENDPOINT_TYPE,
                format!("Unsupported endpoint type {other}"),
            )
        }
    }
    DescribeClusterResponse {
        endpoint_type: ENDPOINT_BROKER,
        cluster_id: view.cluster_id.clone(),
        controller_id: NODE_ID,
        brokers: vec![DescribeClusterBroker {
            broker_id: NODE_ID,
            host: view.host.clone(),
            port: view.port,
            rack: None,
            is_fenced: false,
        }],
        cluster_authorized_operations: if req.include_cluster_authorized_operations {
            CLUSTER_OPERATIONS
        } else {
            i32::MIN
        },
        ..DescribeClusterResponse::default()
    }
}
