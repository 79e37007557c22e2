//! Version negotiation, sans-io and pure: no tokio, no clock, no sockets.
//!
//! - [`session`]: the ApiVersions exchange with KIP-511 fallback, as a state
//!   machine fed with frames and closures.
//! - [`select`](mod@select): one version per API from the two sides' ranges.
//! - [`error`]: the [`NegotiateError`] type.

pub mod error;
pub mod select;
pub mod session;

pub use error::{Hint, NegotiateError};
pub use select::{select, ClientApis};
pub use session::{Action, Attempt, Attempts, Input, Negotiated, Outcome, Session, SessionConfig};
